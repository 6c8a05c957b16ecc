// The package's public types, self-contained (no import): the packed credentials.d.ts is built from them.

/** Token auth: the token from `tokenFile`, else VAULT_TOKEN, else ~/.vault-token (never a value here). */
export interface TokenAuth {
  method: 'token';
  tokenFile?: string;
}

/** AppRole auth: the secret_id from `secretIdFile`, else VAULT_APPROLE_SECRET_ID. */
export interface AppRoleAuth {
  method: 'approle';
  /** Default `approle`. */
  mount?: string;
  /** Default VAULT_APPROLE_ROLE_ID. */
  roleId?: string;
  secretIdFile?: string;
}

/** AWS IAM auth with the SDK's default credential chain. */
export interface AwsAuth {
  method: 'aws';
  /** Default `aws`. */
  mount?: string;
  /** The Vault role to log in as. */
  role: string;
  /** X-Vault-AWS-IAM-Server-ID: default Vault's host name; empty for none. */
  serverId?: string;
  /** The STS endpoint and region Vault's aws auth method calls (default https://sts.amazonaws.com, us-east-1). */
  stsEndpoint?: string;
  stsRegion?: string;
}

/**
 * Where a consumer reads its key and how often: the options of `fromVault()` and, flag for flag, of
 * `iam-key-rotator credentials`. Unset connection settings come from the Vault CLI's variables
 * (VAULT_ADDR, VAULT_NAMESPACE, VAULT_TOKEN, VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY).
 */
export interface CredentialOptions {
  /** The secret's path in the KV mount, as the rotator serves it (e.g. `aws/iam-users/ci-deployer`). */
  vaultPath: string;
  /** Vault's address; default VAULT_ADDR. https, or http on loopback only. */
  address?: string;
  /** Default VAULT_NAMESPACE. */
  namespace?: string;
  /** The KV mount; default `secret`. */
  mount?: string;
  /** Default `auto` (asked of Vault). */
  kvVersion?: 1 | 2 | 'auto';
  /** The fields holding the key; default `access_key` and `secret_key`. */
  accessKeyField?: string;
  secretKeyField?: string;
  /** Default token auth. */
  auth?: TokenAuth | AppRoleAuth | AwsAuth;
  /** PEM files; default VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY. */
  caCertFile?: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  /** Seconds a key read from Vault is used before it is read again; default 300. */
  refresh?: number;
  /** Per-request timeout to Vault; default 5000. */
  timeoutMs?: number;
}

/** An access key as AWS SDK v3 takes it (its AwsCredentialIdentity). */
export interface VaultCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** When the key is read from Vault again: read time + refresh. */
  expiration: Date;
}

/** An AWS SDK v3 credential provider reading the key the rotator serves in Vault. */
export interface VaultCredentialProvider {
  /** The cached key until its `expiration`, then Vault's; `forceRefresh` reads Vault now. */
  (props?: { forceRefresh?: boolean }): Promise<VaultCredentials>;
  /** Reads Vault now: after a call refused with InvalidClientTokenId or SignatureDoesNotMatch. */
  refresh(): Promise<VaultCredentials>;
}

/** The parts of an AWS SDK v3 client `refreshOnAuthError` needs: every `new XxxClient(...)` has them. */
export interface SdkClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<{ output: object }>,
        context: object,
      ) => (args: { input: object }) => Promise<{ output: object }>,
      options: { step: 'initialize'; name: string; override: boolean },
    ): void;
  };
  config: {
    credentials: (props?: {
      forceRefresh?: boolean;
    }) => Promise<{ accessKeyId: string; secretAccessKey: string }>;
  };
}
