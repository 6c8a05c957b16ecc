import { z } from 'zod';
import { ConfigurationError } from './errors.js';

const seconds = (fallback: number) => z.coerce.number().int().min(0).max(MAX_WAIT_SECONDS).default(fallback);
const optional = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

/** What deactivateOld does when the old key is still being used after the new key was stored. */
export type OldKeyInUsePolicy = 'wait' | 'proceed' | 'fail';

/** Step Functions' Wait states accept up to a year; a rotation that waits longer is a mistake. */
export const MAX_WAIT_SECONDS = 30 * 24 * 3600;

const Env = z.object({
  AWS_REGION: z.string().min(1),
  ROTATOR_KMS_KEY_ID: z.string().min(1),
  ROTATOR_GRACE_SECONDS: seconds(900),
  ROTATOR_RECOVERY_SECONDS: seconds(86_400),
  ROTATOR_OLD_KEY_IN_USE: z.enum(['wait', 'proceed', 'fail']).default('wait'),
  ROTATOR_IN_USE_RECHECK_SECONDS: seconds(900),
  ROTATOR_IN_USE_MARGIN_SECONDS: seconds(60),
  ROTATOR_IN_USE_MAX_WAIT_SECONDS: seconds(86_400),
  VAULT_ADDR: z.url(),
  VAULT_NAMESPACE: optional,
  VAULT_KV_MOUNT: z
    .string()
    .regex(/^[\w-]+(\/[\w-]+)*$/)
    .default('secret'),
  VAULT_PATH_PREFIX: z
    .string()
    .regex(/^([\w.-]+\/)*$/, 'a relative path ending in /, or empty')
    .default('aws/iam-users/'),
  VAULT_AUTH_METHOD: z.enum(['aws', 'token']).default('aws'),
  VAULT_AWS_AUTH_MOUNT: z.string().min(1).default('aws'),
  VAULT_AWS_AUTH_ROLE: z.string().min(1).default('iam-key-rotator'),
  VAULT_AWS_IAM_SERVER_ID: optional,
  // Must match the STS endpoint and region Vault's aws auth method is configured to call.
  VAULT_AWS_STS_ENDPOINT: z.url().default('https://sts.amazonaws.com'),
  VAULT_AWS_STS_REGION: z.string().min(1).default('us-east-1'),
  VAULT_TOKEN: optional,
  VAULT_TOKEN_SECRET_ID: optional,
  VAULT_TOKEN_PARAMETER: optional,
  VAULT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  ROTATOR_AWS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
});

export interface Config {
  region: string;
  kmsKeyId: string;
  awsTimeoutMs: number;
  defaults: {
    graceSeconds: number;
    recoverySeconds: number;
    oldKeyInUse: OldKeyInUsePolicy;
    inUseRecheckSeconds: number;
  };
  /** An old key used later than this after the new key was stored is still in use. */
  inUse: { marginSeconds: number; maxWaitSeconds: number };
  vault: {
    addr: string;
    namespace: string | undefined;
    mount: string;
    pathPrefix: string;
    timeoutMs: number;
    auth:
      | {
          method: 'aws';
          mount: string;
          role: string;
          serverId: string | undefined;
          stsEndpoint: string;
          stsRegion: string;
        }
      | { method: 'token'; source: TokenSource };
  };
}

/** Where a Vault token comes from in token auth; deployed config uses a store, never a plain value. */
export type TokenSource =
  | { kind: 'env'; token: string }
  | { kind: 'secrets-manager'; secretId: string }
  | { kind: 'ssm'; parameter: string };

/** Validates the environment; throws ConfigurationError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    region: e.AWS_REGION,
    kmsKeyId: e.ROTATOR_KMS_KEY_ID,
    awsTimeoutMs: e.ROTATOR_AWS_TIMEOUT_MS,
    defaults: {
      graceSeconds: e.ROTATOR_GRACE_SECONDS,
      recoverySeconds: e.ROTATOR_RECOVERY_SECONDS,
      oldKeyInUse: e.ROTATOR_OLD_KEY_IN_USE,
      inUseRecheckSeconds: e.ROTATOR_IN_USE_RECHECK_SECONDS,
    },
    inUse: {
      marginSeconds: e.ROTATOR_IN_USE_MARGIN_SECONDS,
      maxWaitSeconds: e.ROTATOR_IN_USE_MAX_WAIT_SECONDS,
    },
    vault: {
      addr: e.VAULT_ADDR.replace(/\/+$/, ''),
      namespace: e.VAULT_NAMESPACE,
      mount: e.VAULT_KV_MOUNT,
      pathPrefix: e.VAULT_PATH_PREFIX,
      timeoutMs: e.VAULT_TIMEOUT_MS,
      auth:
        e.VAULT_AUTH_METHOD === 'aws'
          ? {
              method: 'aws',
              mount: e.VAULT_AWS_AUTH_MOUNT,
              role: e.VAULT_AWS_AUTH_ROLE,
              serverId: e.VAULT_AWS_IAM_SERVER_ID,
              stsEndpoint: e.VAULT_AWS_STS_ENDPOINT,
              stsRegion: e.VAULT_AWS_STS_REGION,
            }
          : { method: 'token', source: tokenSource(e) },
    },
  };
}

function tokenSource(e: z.infer<typeof Env>): TokenSource {
  const sources: TokenSource[] = [];
  if (e.VAULT_TOKEN_SECRET_ID) sources.push({ kind: 'secrets-manager', secretId: e.VAULT_TOKEN_SECRET_ID });
  if (e.VAULT_TOKEN_PARAMETER) sources.push({ kind: 'ssm', parameter: e.VAULT_TOKEN_PARAMETER });
  if (e.VAULT_TOKEN) sources.push({ kind: 'env', token: e.VAULT_TOKEN });
  const [source, ...others] = sources;
  if (!source || others.length > 0) {
    throw new ConfigurationError(
      'VAULT_AUTH_METHOD=token needs exactly one of VAULT_TOKEN_SECRET_ID, VAULT_TOKEN_PARAMETER or VAULT_TOKEN',
    );
  }
  return source;
}

let cached: Config | undefined;

/** The configuration, read from the environment once per Lambda container. */
export function config(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
