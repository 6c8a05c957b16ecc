import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_REFRESH_SECONDS } from '../functions/commons/credential-refresh.js';
import { ConfigurationError } from '../functions/commons/errors.js';
import { VaultPath } from '../functions/commons/input.js';
import {
  type SecretSource,
  type SourceOverrides,
  type VaultConfig,
  VaultEnv,
  vaultConfig,
} from '../functions/commons/vault/config.js';
import * as z from '../functions/commons/zod.js';
import type { CredentialOptions } from './types.js';

const Text = z.string().check(z.minLength(1));

const Auth = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('token'), tokenFile: z.optional(Text) }),
  z.strictObject({
    method: z.literal('approle'),
    mount: z.optional(Text),
    roleId: z.optional(Text),
    secretIdFile: z.optional(Text),
  }),
  z.strictObject({
    method: z.literal('aws'),
    mount: z.optional(Text),
    role: Text,
    serverId: z.optional(z.string()),
    stsEndpoint: z.optional(Text),
    stsRegion: z.optional(Text),
  }),
]);

/** types.ts CredentialOptions, checked: unknown keys are refused, secrets are never a value here. */
const CredentialOptionsSchema = z.strictObject({
  vaultPath: VaultPath.check(z.minLength(1)),
  address: z.optional(Text),
  namespace: z.optional(z.string()),
  mount: z.optional(Text),
  kvVersion: z.optional(z.union([z.literal(1), z.literal(2), z.literal('auto')])),
  accessKeyField: z.optional(Text),
  secretKeyField: z.optional(Text),
  auth: z.optional(Auth),
  caCertFile: z.optional(Text),
  clientCertFile: z.optional(Text),
  clientKeyFile: z.optional(Text),
  refresh: z.optional(z.number().check(z.minimum(1), z.maximum(43_200))),
  timeoutMs: z.optional(z.number().check(z.int(), z.minimum(100), z.maximum(60_000))),
});
// The public interface and the schema say the same: each must accept what the other does.
type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree: Agree<CredentialOptions, z.input<typeof CredentialOptionsSchema>> = true;
void agree;

/** What a consumer reads: the Vault connection, the path and how long a read key is used. */
export interface CredentialSource {
  vault: VaultConfig;
  vaultPath: string;
  refreshSeconds: number;
}

/** The rotator's variable behind each option, to name the option when the variable's check fails. */
const OPTION_OF: Record<string, string> = {
  VAULT_ADDR: 'address (VAULT_ADDR)',
  VAULT_NAMESPACE: 'namespace (VAULT_NAMESPACE)',
  VAULT_KV_MOUNT: 'mount',
  VAULT_FIELD_ACCESS_KEY: 'accessKeyField',
  VAULT_FIELD_SECRET_KEY: 'secretKeyField',
  VAULT_AWS_AUTH_MOUNT: 'auth.mount',
  VAULT_APPROLE_MOUNT: 'auth.mount',
  VAULT_AWS_STS_ENDPOINT: 'auth.stsEndpoint',
  VAULT_SKIP_VERIFY: 'VAULT_SKIP_VERIFY',
};

function problems(error: z.core.$ZodError, name: (path: PropertyKey[]) => string): string {
  // A top-level issue (an unknown key) has an empty path: its message names the key.
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${name(issue.path)}: ${issue.message}` : issue.message))
    .join('; ');
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError(
      `cannot read the ${what} ${path}: ${typeof code === 'string' ? code : 'unreadable'}`,
    );
  }
}

/** The one source of a secret among those given; none or several is a ConfigurationError. */
function exactlyOne(what: string, given: [string, SecretSource | undefined][]): SecretSource {
  const set = given.filter((entry): entry is [string, SecretSource] => entry[1] !== undefined);
  const [first, ...more] = set;
  if (!first) throw new ConfigurationError(`no ${what}: set ${given.map(([name]) => name).join(' or ')}`);
  if (more.length > 0) {
    throw new ConfigurationError(`${set.map(([name]) => name).join(' and ')} both set the ${what}: set one`);
  }
  return first[1];
}

function secretSources(
  auth: z.output<typeof Auth>,
  env: Record<string, string | undefined>,
): SourceOverrides {
  const fromEnv = (value: string | undefined): SecretSource | undefined =>
    value ? { kind: 'env', value } : undefined;
  const fromFile = (path: string | undefined): SecretSource | undefined =>
    path === undefined ? undefined : { kind: 'file', path };
  switch (auth.method) {
    case 'token': {
      const given: [string, SecretSource | undefined][] = [
        ['tokenFile', fromFile(auth.tokenFile)],
        ['VAULT_TOKEN', fromEnv(env.VAULT_TOKEN)],
      ];
      // As the Vault CLI: after `vault login`, the token is in ~/.vault-token.
      const helper = join(homedir(), '.vault-token');
      if (given.every(([, source]) => source === undefined) && existsSync(helper)) {
        return { token: { kind: 'file', path: helper } };
      }
      return { token: exactlyOne('Vault token', given) };
    }
    case 'approle':
      return {
        secretId: exactlyOne('AppRole secret_id', [
          ['secretIdFile', fromFile(auth.secretIdFile)],
          ['VAULT_APPROLE_SECRET_ID', fromEnv(env.VAULT_APPROLE_SECRET_ID)],
        ]),
      };
    case 'aws':
      return {};
  }
}

/**
 * Checks the options (with the environment's defaults) before anything is read from Vault; throws
 * ConfigurationError naming each problem. The rotator's own checks apply: https (plain http only on
 * loopback), namespace names, VAULT_SKIP_VERIFY only on loopback.
 */
export function credentialSource(
  options: unknown,
  env: Record<string, string | undefined> = process.env,
): CredentialSource {
  const parsed = z.safeParse(CredentialOptionsSchema, options);
  if (!parsed.success) {
    throw new ConfigurationError(`invalid options: ${problems(parsed.error, (path) => path.join('.'))}`);
  }
  const o = parsed.data;
  const auth = o.auth ?? { method: 'token' };
  const address = o.address ?? env.VAULT_ADDR;
  if (!address) throw new ConfigurationError('no Vault address: set address or VAULT_ADDR');
  const caCertFile = o.caCertFile ?? (env.VAULT_CACERT || undefined);
  // Ignored, it would leave the system's CAs trusted where the Vault CLI trusts only its own.
  if (env.VAULT_CAPATH && !caCertFile) {
    throw new ConfigurationError(
      'VAULT_CAPATH (a directory of CA certificates) is not supported: set VAULT_CACERT or caCertFile to a PEM bundle',
    );
  }
  const clientCertFile = o.clientCertFile ?? (env.VAULT_CLIENT_CERT || undefined);
  const clientKeyFile = o.clientKeyFile ?? (env.VAULT_CLIENT_KEY || undefined);
  const variables: Record<string, string | undefined> = {
    VAULT_ADDR: address,
    VAULT_NAMESPACE: o.namespace ?? env.VAULT_NAMESPACE,
    VAULT_KV_MOUNT: o.mount,
    VAULT_KV_VERSION: o.kvVersion === undefined ? undefined : String(o.kvVersion),
    VAULT_FIELD_ACCESS_KEY: o.accessKeyField,
    VAULT_FIELD_SECRET_KEY: o.secretKeyField,
    VAULT_AUTH_METHOD: auth.method,
    VAULT_SKIP_VERIFY: env.VAULT_SKIP_VERIFY,
    VAULT_TIMEOUT_MS: o.timeoutMs === undefined ? undefined : String(o.timeoutMs),
    VAULT_CLIENT_CERT_PEM: clientCertFile && readPem(clientCertFile, 'client certificate'),
    VAULT_CLIENT_KEY_PEM: clientKeyFile && readPem(clientKeyFile, 'client key'),
  };
  if (auth.method === 'aws') {
    Object.assign(variables, {
      VAULT_AWS_AUTH_MOUNT: auth.mount,
      VAULT_AWS_AUTH_ROLE: auth.role,
      VAULT_AWS_IAM_SERVER_ID: auth.serverId,
      VAULT_AWS_STS_ENDPOINT: auth.stsEndpoint,
      VAULT_AWS_STS_REGION: auth.stsRegion,
    });
  } else if (auth.method === 'approle') {
    const roleId = auth.roleId ?? env.VAULT_APPROLE_ROLE_ID;
    if (!roleId) throw new ConfigurationError('no AppRole role_id: set auth.roleId or VAULT_APPROLE_ROLE_ID');
    Object.assign(variables, { VAULT_APPROLE_MOUNT: auth.mount, VAULT_APPROLE_ROLE_ID: roleId });
  }
  const defined = Object.fromEntries(Object.entries(variables).filter(([, value]) => value !== undefined));
  const checked = z.safeParse(VaultEnv, defined);
  if (!checked.success) {
    const name = (path: PropertyKey[]) => OPTION_OF[String(path[0])] ?? String(path[0]);
    throw new ConfigurationError(`invalid options: ${problems(checked.error, name)}`);
  }
  let vault: VaultConfig;
  try {
    vault = vaultConfig(checked.data, secretSources(auth, env));
  } catch (error) {
    // The rotator's checks name its variables; a consumer may have set the option instead.
    if (!(error instanceof ConfigurationError)) throw error;
    const renamed = error.message
      .replace(/^VAULT_ADDR\b/, 'the Vault address (address, --vault-addr or VAULT_ADDR)')
      .replace(/^VAULT_NAMESPACE\b/, 'the namespace (namespace, --namespace or VAULT_NAMESPACE)');
    throw new ConfigurationError(renamed, { cause: error });
  }
  return {
    vault: {
      ...vault,
      tls: { ...vault.tls, ca: caCertFile ? { kind: 'file', path: caCertFile } : undefined },
    },
    vaultPath: o.vaultPath,
    refreshSeconds: o.refresh ?? DEFAULT_REFRESH_SECONDS,
  };
}
