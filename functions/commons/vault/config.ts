import * as z from '../zod.js';
import { ConfigurationError } from '../errors.js';

const optional = z.pipe(
  z.optional(z.string()),
  z.transform((value) => (value === '' ? undefined : value)),
);

/**
 * Where a secret comes from: deployed config uses a store, never a plain value; a consumer
 * (consumer/) a file, read afresh at each use so an agent may rewrite it.
 */
export type SecretSource =
  | { kind: 'env'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'secrets-manager'; secretId: string }
  | { kind: 'ssm'; parameter: string };

export type VaultAuth =
  | {
      method: 'aws';
      mount: string;
      role: string;
      serverId: string | undefined;
      stsEndpoint: string;
      stsRegion: string;
    }
  | { method: 'approle'; mount: string; roleId: string; secretId: SecretSource }
  | { method: 'token'; token: SecretSource };

export interface VaultTls {
  /** PEM bundle of the CAs to trust instead of the system's. */
  ca: SecretSource | undefined;
  /** PEM client certificate and key, for Vault listeners that require one. */
  clientCert: { cert: string; key: string } | { secretId: string } | undefined;
  /** Only for a Vault on this machine (the local stack): never accepted for a remote address. */
  skipVerify: boolean;
}

export interface VaultConfig {
  addr: string;
  namespace: string | undefined;
  mount: string;
  /** 1 or 2, or `auto`: asked of Vault (sys/internal/ui/mounts) once per container. */
  kvVersion: 1 | 2 | 'auto';
  pathPrefix: string;
  /** The secret's path, with {prefix}, {userName} and {accountId} filled in. */
  pathTemplate: string;
  fields: { accessKeyId: string; secretAccessKey: string };
  extraFields: Record<string, string>;
  timeoutMs: number;
  auth: VaultAuth;
  tls: VaultTls;
}

const Field = z.string().check(z.regex(/^[\w.-]{1,64}$/));
const name = (fallback: string) => z._default(z.string().check(z.minLength(1)), fallback);

export const VaultEnv = z.object({
  VAULT_ADDR: z.url(),
  VAULT_NAMESPACE: optional,
  VAULT_KV_MOUNT: z._default(z.string().check(z.regex(/^[\w-]+(\/[\w-]+)*$/)), 'secret'),
  VAULT_KV_VERSION: z._default(z.enum(['auto', '1', '2']), 'auto'),
  VAULT_PATH_PREFIX: z._default(
    z.string().check(z.regex(/^([\w.-]+\/)*$/, 'a relative path ending in /, or empty')),
    'aws/iam-users/',
  ),
  VAULT_PATH_TEMPLATE: z._default(
    z.string().check(
      z.regex(/^[\w.{}/-]+$/),
      z.refine((t) => t.includes('{userName}'), 'must contain {userName}'),
    ),
    '{prefix}{userName}',
  ),
  VAULT_FIELD_ACCESS_KEY: z._default(Field, 'access_key'),
  VAULT_FIELD_SECRET_KEY: z._default(Field, 'secret_key'),
  VAULT_EXTRA_FIELDS: z.pipe(
    z.pipe(
      z._default(z.string(), '{}'),
      z.transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'must be a JSON object', input: text });
          return z.NEVER;
        }
      }),
    ),
    z.record(Field, z.string().check(z.maxLength(1024))),
  ),
  VAULT_AUTH_METHOD: z._default(z.enum(['aws', 'approle', 'token']), 'aws'),
  VAULT_AWS_AUTH_MOUNT: name('aws'),
  VAULT_AWS_AUTH_ROLE: name('iam-key-rotator'),
  // Absent or `auto`: Vault's host name; empty: no header (see serverId below).
  VAULT_AWS_IAM_SERVER_ID: z.optional(z.string()),
  // Must match the STS endpoint and region Vault's aws auth method is configured to call.
  VAULT_AWS_STS_ENDPOINT: z._default(z.url(), 'https://sts.amazonaws.com'),
  VAULT_AWS_STS_REGION: name('us-east-1'),
  VAULT_APPROLE_MOUNT: name('approle'),
  VAULT_APPROLE_ROLE_ID: optional,
  VAULT_APPROLE_SECRET_ID_SECRET: optional,
  VAULT_APPROLE_SECRET_ID: optional,
  VAULT_TOKEN: optional,
  VAULT_TOKEN_SECRET_ID: optional,
  VAULT_TOKEN_PARAMETER: optional,
  VAULT_CACERT_PEM: optional,
  VAULT_CACERT_PARAMETER: optional,
  VAULT_CLIENT_CERT_PEM: optional,
  VAULT_CLIENT_KEY_PEM: optional,
  VAULT_CLIENT_CERT_SECRET_ID: optional,
  VAULT_SKIP_VERIFY: z._default(z.enum(['true', 'false', '']), 'false'),
  VAULT_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.minimum(100), z.maximum(60_000)), 5_000),
  // Set by Lambda: secrets must then come from Secrets Manager or SSM, never the environment.
  AWS_LAMBDA_FUNCTION_NAME: optional,
});
type Env = z.infer<typeof VaultEnv>;

function oneOf(what: string, sources: (SecretSource | undefined)[]): SecretSource {
  const given = sources.filter((s): s is SecretSource => s !== undefined);
  const [source, ...others] = given;
  if (!source || others.length > 0) throw new ConfigurationError(`${what}: set exactly one`);
  return source;
}

const env = (value: string | undefined): SecretSource | undefined =>
  value === undefined ? undefined : { kind: 'env', value };
const sm = (secretId: string | undefined): SecretSource | undefined =>
  secretId === undefined ? undefined : { kind: 'secrets-manager', secretId };
const ssm = (parameter: string | undefined): SecretSource | undefined =>
  parameter === undefined ? undefined : { kind: 'ssm', parameter };

/** Reads a secret from its source: the Lambdas' reads stores, a consumer's only its files and variables. */
export type SecretReader = (source: SecretSource) => Promise<string | undefined>;

/** Secrets from elsewhere than the variables (a consumer's files): used instead of them. */
export interface SourceOverrides {
  token?: SecretSource;
  secretId?: SecretSource;
}

function auth(e: Env, addr: URL, overrides: SourceOverrides): VaultAuth {
  switch (e.VAULT_AUTH_METHOD) {
    case 'aws':
      return {
        method: 'aws',
        mount: e.VAULT_AWS_AUTH_MOUNT,
        role: e.VAULT_AWS_AUTH_ROLE,
        serverId: serverId(e.VAULT_AWS_IAM_SERVER_ID, addr),
        stsEndpoint: e.VAULT_AWS_STS_ENDPOINT,
        stsRegion: e.VAULT_AWS_STS_REGION,
      };
    case 'approle':
      if (!e.VAULT_APPROLE_ROLE_ID)
        throw new ConfigurationError('VAULT_AUTH_METHOD=approle needs VAULT_APPROLE_ROLE_ID');
      return {
        method: 'approle',
        mount: e.VAULT_APPROLE_MOUNT,
        roleId: e.VAULT_APPROLE_ROLE_ID,
        secretId:
          overrides.secretId ??
          oneOf('VAULT_AUTH_METHOD=approle needs VAULT_APPROLE_SECRET_ID_SECRET or VAULT_APPROLE_SECRET_ID', [
            sm(e.VAULT_APPROLE_SECRET_ID_SECRET),
            env(e.VAULT_APPROLE_SECRET_ID),
          ]),
      };
    case 'token':
      return {
        method: 'token',
        token:
          overrides.token ??
          oneOf('VAULT_AUTH_METHOD=token needs VAULT_TOKEN_SECRET_ID, VAULT_TOKEN_PARAMETER or VAULT_TOKEN', [
            sm(e.VAULT_TOKEN_SECRET_ID),
            ssm(e.VAULT_TOKEN_PARAMETER),
            env(e.VAULT_TOKEN),
          ]),
      };
  }
}

/** A host on this machine: 127.0.0.0/8, ::1 or localhost (URL has already normalized the spelling). */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Vault's address: https, or plain http only to a Vault on this machine (the local stack). */
function address(e: Env): URL {
  const url = new URL(e.VAULT_ADDR);
  if (url.username || url.password) {
    throw new ConfigurationError('VAULT_ADDR may not carry credentials (user:password@)');
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url;
  throw new ConfigurationError(
    `VAULT_ADDR must be https:// (plain http only for 127.0.0.0/8, ::1 or localhost); got ${url.protocol}//${url.host}`,
  );
}

// Docs: enterprise/namespaces, "Namespace naming restrictions".
const RESERVED_NAMESPACES = new Set(['.', '..', 'root', 'sys', 'audit', 'auth', 'cubbyhole', 'identity']);

/**
 * VAULT_NAMESPACE as Vault takes it in X-Vault-Namespace: `a/b/c`, at most one leading and one
 * trailing slash (Vault trims them), each name printable ASCII without spaces and not reserved.
 */
function namespace(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const path = value.replace(/^\//, '').replace(/\/$/, '');
  const names = path.split('/');
  const bad = names.find((name) => !/^[\x21-\x7e]+$/.test(name) || RESERVED_NAMESPACES.has(name));
  if (bad !== undefined) {
    throw new ConfigurationError(
      'VAULT_NAMESPACE must be a Vault namespace path like team-a or admin/team-a: names of printable ' +
        'characters without spaces or control characters, no empty name (//), none of ' +
        `${[...RESERVED_NAMESPACES].join(' ')} (leave it empty for the root namespace)`,
    );
  }
  return path;
}

/**
 * X-Vault-AWS-IAM-Server-ID: absent or `auto` gives Vault's host name, so replay protection is on
 * unless explicitly turned off with an empty value.
 */
function serverId(value: string | undefined, addr: URL): string | undefined {
  if (value === '') return undefined;
  if (value === undefined || value === 'auto') return addr.hostname.replace(/^\[(.*)\]$/, '$1');
  if ([...value].some((ch) => ch < ' ' || ch === '\x7f')) {
    throw new ConfigurationError('VAULT_AWS_IAM_SERVER_ID may not contain control characters');
  }
  return value;
}

const PLAIN_SECRETS = [
  ['VAULT_TOKEN', 'VAULT_TOKEN_SECRET_ID or VAULT_TOKEN_PARAMETER'],
  ['VAULT_APPROLE_SECRET_ID', 'VAULT_APPROLE_SECRET_ID_SECRET'],
  ['VAULT_CLIENT_KEY_PEM', 'VAULT_CLIENT_CERT_SECRET_ID'],
] as const;

/** In Lambda the environment is readable by anyone allowed lambda:GetFunctionConfiguration. */
function refusePlainSecretsInLambda(e: Env): void {
  if (!e.AWS_LAMBDA_FUNCTION_NAME) return;
  for (const [name, instead] of PLAIN_SECRETS) {
    if (e[name] !== undefined) {
      throw new ConfigurationError(
        `${name} is refused in Lambda: a secret in the function's environment is readable with its configuration; use ${instead}`,
      );
    }
  }
}

function tls(e: Env): VaultTls {
  const skipVerify = e.VAULT_SKIP_VERIFY === 'true';
  if (skipVerify && !isLoopback(new URL(e.VAULT_ADDR).hostname)) {
    throw new ConfigurationError(
      'VAULT_SKIP_VERIFY is only accepted for a Vault on 127.0.0.0/8, ::1 or localhost',
    );
  }
  if (Boolean(e.VAULT_CLIENT_CERT_PEM) !== Boolean(e.VAULT_CLIENT_KEY_PEM)) {
    throw new ConfigurationError('VAULT_CLIENT_CERT_PEM and VAULT_CLIENT_KEY_PEM go together');
  }
  if (e.VAULT_CLIENT_CERT_PEM && e.VAULT_CLIENT_CERT_SECRET_ID) {
    throw new ConfigurationError(
      'set VAULT_CLIENT_CERT_PEM/VAULT_CLIENT_KEY_PEM or VAULT_CLIENT_CERT_SECRET_ID, not both',
    );
  }
  if (e.VAULT_CACERT_PEM && e.VAULT_CACERT_PARAMETER) {
    throw new ConfigurationError('set VAULT_CACERT_PEM or VAULT_CACERT_PARAMETER, not both');
  }
  return {
    ca: env(e.VAULT_CACERT_PEM) ?? ssm(e.VAULT_CACERT_PARAMETER),
    clientCert:
      e.VAULT_CLIENT_CERT_PEM && e.VAULT_CLIENT_KEY_PEM
        ? { cert: e.VAULT_CLIENT_CERT_PEM, key: e.VAULT_CLIENT_KEY_PEM }
        : e.VAULT_CLIENT_CERT_SECRET_ID
          ? { secretId: e.VAULT_CLIENT_CERT_SECRET_ID }
          : undefined,
    skipVerify,
  };
}

/** The Vault part of the configuration, from validated variables. */
export function vaultConfig(e: Env, overrides: SourceOverrides = {}): VaultConfig {
  const addr = address(e);
  refusePlainSecretsInLambda(e);
  const sample = e.VAULT_PATH_TEMPLATE.replaceAll('{accountId}', '123456789012')
    .replaceAll('{userName}', 'user')
    .replace('{prefix}', e.VAULT_PATH_PREFIX);
  const segments = sample.split('/');
  if (!sample.startsWith(e.VAULT_PATH_PREFIX) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ConfigurationError(
      'VAULT_PATH_TEMPLATE must produce paths below VAULT_PATH_PREFIX, without . or ..',
    );
  }
  const fields = { accessKeyId: e.VAULT_FIELD_ACCESS_KEY, secretAccessKey: e.VAULT_FIELD_SECRET_KEY };
  for (const name of Object.keys(e.VAULT_EXTRA_FIELDS)) {
    if (name === fields.accessKeyId || name === fields.secretAccessKey) {
      throw new ConfigurationError(`VAULT_EXTRA_FIELDS may not set ${name}`);
    }
  }
  return {
    addr: e.VAULT_ADDR.replace(/\/+$/, ''),
    namespace: namespace(e.VAULT_NAMESPACE),
    mount: e.VAULT_KV_MOUNT,
    kvVersion: e.VAULT_KV_VERSION === 'auto' ? 'auto' : e.VAULT_KV_VERSION === '1' ? 1 : 2,
    pathPrefix: e.VAULT_PATH_PREFIX,
    pathTemplate: e.VAULT_PATH_TEMPLATE,
    fields,
    extraFields: e.VAULT_EXTRA_FIELDS,
    timeoutMs: e.VAULT_TIMEOUT_MS,
    auth: auth(e, addr, overrides),
    tls: tls(e),
  };
}
