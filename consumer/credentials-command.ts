import { parseArgs } from 'node:util';
import { ConfigurationError } from '../functions/commons/errors.js';
import { redactText } from '../functions/commons/redact.js';
import { CredentialLoopError } from './errors.js';
import { CREDENTIALS_USAGE, FLAG_DOCS, PARSE_OPTIONS } from './flags.js';
import { credentialSource } from './options.js';
import type { CredentialOptions } from './types.js';
import { VaultKeyReader } from './vault-key.js';

/** Flags that would put a secret in argv, where `ps` and shell history see it. */
const REFUSED = /^--(token|secret-id|vault-token)(=|$)/;

/** The SDK's chain says only that no provider gave credentials; a loop through this command is one cause. */
const CHAIN_HINT =
  " (the SDK's default chain gave no credentials for Vault's aws auth; a profile whose credential_process" +
  ' is this command cannot be that chain: it is refused as a loop)';

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
    ({ values } = parseArgs({ args, options: PARSE_OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs repeats a stray argument, which may be a secret typed without its flag.
    if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigurationError(
        'unexpected argument (not repeated here): this command takes flags only, see --help',
      );
    }
    throw new ConfigurationError((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (values.help) return 'help';
  const method = values.auth ?? 'token';
  if (method !== 'token' && method !== 'approle' && method !== 'aws') {
    throw new ConfigurationError(`--auth takes token, approle or aws, got ${JSON.stringify(method)}`);
  }
  // A flag of another auth method cannot apply: refused, not ignored.
  const misplaced = FLAG_DOCS.find(
    (f) =>
      'methods' in f && values[f.flag] !== undefined && !(f.methods as readonly string[]).includes(method),
  );
  if (misplaced) throw new ConfigurationError(`--${misplaced.flag} does not apply to --auth ${method}`);
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
    const hint = message.startsWith('credentials failed') ? CHAIN_HINT : '';
    process.stderr.write(`iam-key-rotator credentials: ${oneLine(`${context}${name}: ${message}${hint}`)}\n`);
    return 1;
  } finally {
    if (running === undefined) Reflect.deleteProperty(process.env, RUNNING);
  }
}
