import { parseArgs } from 'node:util';
import { DEFAULT_REFRESH_SECONDS } from '../functions/commons/credential-refresh.js';
import { ConfigurationError } from '../functions/commons/errors.js';
import { redactText } from '../functions/commons/redact.js';
import { CredentialLoopError } from './errors.js';
import { credentialSource } from './options.js';
import type { CredentialOptions } from './types.js';
import { VaultKeyReader } from './vault-key.js';

export const CREDENTIALS_USAGE = `usage: iam-key-rotator credentials --vault-path PATH [options]

Prints the key the rotator serves at PATH as a credential_process document. In ~/.aws/config:
  [profile ci]
  credential_process = iam-key-rotator credentials --vault-path aws/iam-users/ci-deployer

options:
  --vault-path P        the secret's path in the KV mount (required)
  --vault-addr URL      Vault's address (default $VAULT_ADDR)
  --namespace NS        Vault namespace (default $VAULT_NAMESPACE)
  --mount M             the KV mount (default secret)
  --kv-version V        1, 2 or auto (default auto)
  --access-key-field F  the field holding the access key id (default access_key)
  --secret-key-field F  the field holding the secret access key (default secret_key)
  --auth M              token (default), approle or aws
  --token-file F        token: a file holding the token (else $VAULT_TOKEN, else ~/.vault-token)
  --role-id ID          approle: the role_id (default $VAULT_APPROLE_ROLE_ID)
  --secret-id-file F    approle: a file holding the secret_id (else $VAULT_APPROLE_SECRET_ID)
  --auth-mount M        approle, aws: the auth method's mount (default approle, aws)
  --role R              aws: the Vault role to log in as (required), with the SDK's default chain
  --server-id S         aws: X-Vault-AWS-IAM-Server-ID (default Vault's host name)
  --sts-endpoint URL    aws: the STS endpoint Vault's aws auth method calls
  --sts-region R        aws: that endpoint's region
  --ca-cert F           CA bundle to trust (default $VAULT_CACERT)
  --client-cert F       client certificate (default $VAULT_CLIENT_CERT), with --client-key F
  --refresh S           seconds the key is used before the SDK runs this again (default ${DEFAULT_REFRESH_SECONDS})
  --timeout-ms MS       per-request timeout (default 5000)

A token or secret_id is never taken on the command line. Exit 0: the document on stdout.
Exit 1: nothing on stdout, one line on stderr naming what failed (never a secret).`;

const FLAGS = {
  'vault-path': { type: 'string' },
  'vault-addr': { type: 'string' },
  namespace: { type: 'string' },
  mount: { type: 'string' },
  'kv-version': { type: 'string' },
  'access-key-field': { type: 'string' },
  'secret-key-field': { type: 'string' },
  auth: { type: 'string' },
  'token-file': { type: 'string' },
  'role-id': { type: 'string' },
  'secret-id-file': { type: 'string' },
  'auth-mount': { type: 'string' },
  role: { type: 'string' },
  'server-id': { type: 'string' },
  'sts-endpoint': { type: 'string' },
  'sts-region': { type: 'string' },
  'ca-cert': { type: 'string' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
  refresh: { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags each auth method takes; any other auth flag cannot apply and is refused. */
const AUTH_FLAGS = {
  token: ['token-file'],
  approle: ['role-id', 'secret-id-file', 'auth-mount'],
  aws: ['role', 'auth-mount', 'server-id', 'sts-endpoint', 'sts-region'],
} as const;

/** Flags that would put a secret in argv, where `ps` and shell history see it. */
const REFUSED = /^--(token|secret-id|vault-token)(=|$)/;

/** Set while the command runs: the aws method's credential chain must not run it again. */
const RUNNING = 'IAM_KEY_ROTATOR_CREDENTIALS_RUNNING';

function wholeSeconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new ConfigurationError(`--${flag} takes whole numbers, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** The command's flags as fromVault's options (one schema checks both). */
export function optionsFromFlags(args: string[]): CredentialOptions | 'help' {
  const refused = args.find((arg) => REFUSED.test(arg));
  if (refused) {
    throw new ConfigurationError(
      `${refused.split('=')[0]} is refused: a secret on the command line is visible to other processes; ` +
        'use VAULT_TOKEN or --token-file (token), VAULT_APPROLE_SECRET_ID or --secret-id-file (approle)',
    );
  }
  let values;
  try {
    ({ values } = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigurationError((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (values.help) return 'help';
  const method = values.auth ?? 'token';
  if (method !== 'token' && method !== 'approle' && method !== 'aws') {
    throw new ConfigurationError(`--auth takes token, approle or aws, got ${JSON.stringify(method)}`);
  }
  const own: readonly string[] = AUTH_FLAGS[method];
  const misplaced = Object.values(AUTH_FLAGS)
    .flat()
    .find((flag) => values[flag as keyof typeof values] !== undefined && !own.includes(flag));
  if (misplaced) throw new ConfigurationError(`--${misplaced} does not apply to --auth ${method}`);
  if (values['vault-path'] === undefined) throw new ConfigurationError('--vault-path is required');
  const kvVersion = values['kv-version'];
  if (kvVersion !== undefined && !['1', '2', 'auto'].includes(kvVersion)) {
    throw new ConfigurationError(`--kv-version takes 1, 2 or auto, got ${JSON.stringify(kvVersion)}`);
  }
  const auth =
    method === 'token'
      ? { method, tokenFile: values['token-file'] }
      : method === 'approle'
        ? {
            method,
            mount: values['auth-mount'],
            roleId: values['role-id'],
            secretIdFile: values['secret-id-file'],
          }
        : {
            method,
            mount: values['auth-mount'],
            role: values.role ?? '',
            serverId: values['server-id'],
            stsEndpoint: values['sts-endpoint'],
            stsRegion: values['sts-region'],
          };
  const options = {
    vaultPath: values['vault-path'],
    address: values['vault-addr'],
    namespace: values.namespace,
    mount: values.mount,
    kvVersion: kvVersion === undefined || kvVersion === 'auto' ? kvVersion : (Number(kvVersion) as 1 | 2),
    accessKeyField: values['access-key-field'],
    secretKeyField: values['secret-key-field'],
    auth: withoutUndefined(auth),
    caCertFile: values['ca-cert'],
    clientCertFile: values['client-cert'],
    clientKeyFile: values['client-key'],
    refresh: wholeSeconds('refresh', values.refresh),
    timeoutMs: wholeSeconds('timeout-ms', values['timeout-ms']),
  };
  return withoutUndefined(options) as CredentialOptions;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** One line, whatever the message holds: credential_process shows stderr to people. */
function oneLine(text: string): string {
  return redactText(text.replace(/\p{Cc}+/gu, ' ').trim());
}

/**
 * `iam-key-rotator credentials`: prints `{"Version": 1, AccessKeyId, SecretAccessKey, Expiration}`
 * and nothing else on stdout, or exits 1 with one line on stderr. Returns the exit code.
 */
export async function runCredentials(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let where = '';
  const running = process.env[RUNNING];
  try {
    const options = optionsFromFlags(args);
    if (options === 'help') {
      process.stderr.write(`${CREDENTIALS_USAGE}\n`);
      return 0;
    }
    const source = credentialSource(options, env);
    if (source.vault.auth.method === 'aws') {
      if (env[RUNNING]) {
        throw new CredentialLoopError(
          "the aws auth method's credential chain ran this command again (its profile's credential_process?): " +
            'give the chain other credentials (AWS_PROFILE, environment, instance role)',
        );
      }
      // The SDK passes this process's environment to any credential_process it runs.
      process.env[RUNNING] = '1';
    }
    const reader = new VaultKeyReader(source);
    where = reader.location;
    const key = await reader.read();
    const expiration = new Date(key.readAt.getTime() + source.refreshSeconds * 1000);
    const document = {
      Version: 1,
      AccessKeyId: key.accessKeyId,
      SecretAccessKey: key.secretAccessKey,
      Expiration: expiration.toISOString(),
    };
    process.stdout.write(`${JSON.stringify(document)}\n`);
    return 0;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    // Vault's errors name the request, not the address: the line says where the key was read.
    const context = where && !message.includes(where) ? `reading ${where}: ` : '';
    process.stderr.write(`iam-key-rotator credentials: ${oneLine(`${context}${name}: ${message}`)}\n`);
    return 1;
  } finally {
    if (running === undefined) Reflect.deleteProperty(process.env, RUNNING);
  }
}
