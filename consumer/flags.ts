import { DEFAULT_REFRESH_SECONDS } from '../functions/commons/credential-refresh.js';

/** One flag of `iam-key-rotator credentials`: its value's name, fromVault's option, what it does. */
export interface FlagDoc {
  flag: string;
  value: string;
  /** The `fromVault()` option it sets (CredentialOptions), dotted for `auth`'s. */
  option: string;
  /** The auth methods it applies to; with any other it is refused. Absent: all. */
  methods?: readonly AuthMethod[];
  help: string;
}

export type AuthMethod = 'token' | 'approle' | 'aws';

/** The command's flags: its usage text, its parser and docs/reference/credentials.md come from here. */
export const FLAG_DOCS = [
  {
    flag: 'vault-path',
    value: 'P',
    option: 'vaultPath',
    help: "the secret's path in the KV mount (required)",
  },
  { flag: 'vault-addr', value: 'URL', option: 'address', help: "Vault's address (default $VAULT_ADDR)" },
  { flag: 'namespace', value: 'NS', option: 'namespace', help: 'Vault namespace (default $VAULT_NAMESPACE)' },
  { flag: 'mount', value: 'M', option: 'mount', help: 'the KV mount (default secret)' },
  { flag: 'kv-version', value: 'V', option: 'kvVersion', help: '1, 2 or auto (default auto)' },
  {
    flag: 'access-key-field',
    value: 'F',
    option: 'accessKeyField',
    help: 'the field holding the access key id (default access_key)',
  },
  {
    flag: 'secret-key-field',
    value: 'F',
    option: 'secretKeyField',
    help: 'the field holding the secret access key (default secret_key)',
  },
  { flag: 'auth', value: 'M', option: 'auth.method', help: 'token (default), approle or aws' },
  {
    flag: 'token-file',
    value: 'F',
    option: 'auth.tokenFile',
    methods: ['token'],
    help: 'a file holding the token (else $VAULT_TOKEN, else ~/.vault-token)',
  },
  {
    flag: 'role-id',
    value: 'ID',
    option: 'auth.roleId',
    methods: ['approle'],
    help: 'the role_id (default $VAULT_APPROLE_ROLE_ID)',
  },
  {
    flag: 'secret-id-file',
    value: 'F',
    option: 'auth.secretIdFile',
    methods: ['approle'],
    help: 'a file holding the secret_id (else $VAULT_APPROLE_SECRET_ID)',
  },
  {
    flag: 'auth-mount',
    value: 'M',
    option: 'auth.mount',
    methods: ['approle', 'aws'],
    help: "the auth method's mount (default approle, aws)",
  },
  {
    flag: 'role',
    value: 'R',
    option: 'auth.role',
    methods: ['aws'],
    help: "the Vault role to log in as (required), with the SDK's default credential chain",
  },
  {
    flag: 'server-id',
    value: 'S',
    option: 'auth.serverId',
    methods: ['aws'],
    help: "X-Vault-AWS-IAM-Server-ID (default Vault's host name)",
  },
  {
    flag: 'sts-endpoint',
    value: 'URL',
    option: 'auth.stsEndpoint',
    methods: ['aws'],
    help: "the STS endpoint Vault's aws auth method calls",
  },
  {
    flag: 'sts-region',
    value: 'R',
    option: 'auth.stsRegion',
    methods: ['aws'],
    help: "that endpoint's region",
  },
  { flag: 'ca-cert', value: 'F', option: 'caCertFile', help: 'CA bundle to trust (default $VAULT_CACERT)' },
  {
    flag: 'client-cert',
    value: 'F',
    option: 'clientCertFile',
    help: 'client certificate (default $VAULT_CLIENT_CERT)',
  },
  {
    flag: 'client-key',
    value: 'F',
    option: 'clientKeyFile',
    help: "that certificate's key (default $VAULT_CLIENT_KEY)",
  },
  {
    flag: 'refresh',
    value: 'S',
    option: 'refresh',
    help: `seconds the key is used before it is read again: Expiration (default ${DEFAULT_REFRESH_SECONDS})`,
  },
  {
    flag: 'timeout-ms',
    value: 'MS',
    option: 'timeoutMs',
    help: 'per-request timeout to Vault (default 5000)',
  },
] as const satisfies readonly FlagDoc[];

type Flag = (typeof FLAG_DOCS)[number]['flag'];

const column = Math.max(...FLAG_DOCS.map((f) => f.flag.length + f.value.length + 4)) + 2;

/** What the usage says of a flag: the auth methods it applies to, then its help. */
const describe = (f: FlagDoc) => (f.methods ? `${f.methods.join(', ')}: ${f.help}` : f.help);

export const CREDENTIALS_USAGE = `usage: iam-key-rotator credentials --vault-path PATH [options]

Prints the key the rotator serves at PATH as a credential_process document. In ~/.aws/config:
  [profile ci]
  credential_process = iam-key-rotator credentials --vault-path aws/iam-users/ci-deployer

options:
${FLAG_DOCS.map((f) => `  ${`--${f.flag} ${f.value}`.padEnd(column)}${describe(f)}`).join('\n')}

A token or secret_id is never taken on the command line. Exit 0: the document on stdout.
Exit 1: nothing on stdout, one line on stderr naming what failed (never a secret).`;

/** node:util parseArgs' options for the flags. */
export const PARSE_OPTIONS = {
  ...(Object.fromEntries(FLAG_DOCS.map((f) => [f.flag, { type: 'string' }])) as Record<
    Flag,
    { type: 'string' }
  >),
  help: { type: 'boolean', short: 'h' },
} as const;
