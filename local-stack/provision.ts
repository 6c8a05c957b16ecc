import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { fileURLToPath } from 'node:url';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import axios, { type AxiosInstance } from 'axios';
import { DEFAULT_FLOORS, defaultPath, type Floors } from '../functions/commons/input.js';
import type { FunctionEnvironment } from './function-environment.js';
import policies from '../deploy/policies.cjs';
import type { PolicySettings, VaultCredentialSources } from '../deploy/policies.cjs';
import { functionRoleArn, LOCAL_TARGET_ROLE_NAME, provisionFunctionRoles } from './function-roles.js';
import { provisionTargetRole } from './target-account.js';

export type VaultAuthMethod = 'aws' | 'approle' | 'token';

/** Where the rotator runs against: the local stack, or a real AWS endpoint and Vault. */
export interface Target {
  aws: {
    /** Undefined: the SDK's own endpoint resolution (real AWS). */
    endpoint: string | undefined;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    /** The local stack's emulator: each function runs as its own role, evaluated against its policy. */
    perFunctionRoles?: boolean;
  };
  vault: {
    addr: string;
    /** A token that may manage policies, auth methods, mounts and (Enterprise) namespaces. */
    token: string;
    /** PEM of the CA that signed Vault's certificate, when Vault serves TLS with a private CA. */
    caCert?: string;
  };
  /** The handlers' auth method: `aws` needs a Vault whose STS endpoint is `aws.endpoint`. */
  vaultAuth: VaultAuthMethod;
  kvVersion: 1 | 2;
  kvMount: string;
  pathPrefix: string;
  /** The deployment's VAULT_PATH_TEMPLATE; default the deployment's, `{prefix}{userName}`. */
  vaultPathTemplate?: string;
  namespace?: string;
  /** The deployment's floors on execution input; unset ones are a deployment's defaults. */
  floors?: Partial<Floors>;
  /** Other accounts the rotator may act in (allowedAccountIds); none: its own account only. */
  allowedAccountIds?: string[];
  /**
   * Member accounts in which provisioning makes the target role (as deploy/target-account.yml
   * does), with the credentials of an administrator there; users may be seeded there. One outside
   * allowedAccountIds has a role the rotator may not use. `externalId`: the one its role expects,
   * default targetExternalId (another one is a member account set up with the wrong ExternalId).
   */
  memberAccounts?: {
    accountId: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    externalId?: string;
  }[];
  /** The ExternalId the target roles expect (targetExternalId); default LOCAL_TARGET_EXTERNAL_ID. */
  targetExternalId?: string;
}

/** The ExternalId of the local stack's target roles, unless the target names another. */
export const LOCAL_TARGET_EXTERNAL_ID = 'iam-key-rotator-local';

/** A target on the local stack's emulators with the defaults of a deployment. */
export function localTarget(
  stack: {
    aws: {
      endpoint: string;
      region: string;
      adminCredentials: { accessKeyId: string; secretAccessKey: string };
    };
    vault: { addr: string; rootToken: string };
  },
  overrides: Partial<Omit<Target, 'aws'>> = {},
): Target {
  return {
    aws: {
      endpoint: stack.aws.endpoint,
      region: stack.aws.region,
      credentials: stack.aws.adminCredentials,
      perFunctionRoles: true,
    },
    vault: { addr: stack.vault.addr, token: stack.vault.rootToken },
    vaultAuth: 'aws',
    kvVersion: 2,
    kvMount: overrides.kvVersion === 1 ? 'kv' : 'secret',
    pathPrefix: 'aws/iam-users/',
    ...overrides,
  };
}

export const ROTATOR_ROLE = 'iam-key-rotator-writer';
export const USER_PATH = '/rotated/';

function awsConfig(target: Target) {
  return {
    region: target.aws.region,
    credentials: target.aws.credentials,
    ...(target.aws.endpoint ? { endpoint: target.aws.endpoint } : {}),
  };
}

/** An admin client for Vault's HTTP API (provisioning and observation only, never the handlers). */
export function vaultAdmin(target: Target, options: { rootNamespace?: boolean } = {}): AxiosInstance {
  const namespace = options.rootNamespace ? undefined : target.namespace;
  return axios.create({
    baseURL: `${target.vault.addr.replace(/\/+$/, '')}/v1/`,
    headers: {
      'X-Vault-Token': target.vault.token,
      ...(namespace ? { 'X-Vault-Namespace': namespace } : {}),
    },
    timeout: 5_000,
    ...(target.vault.caCert ? { httpsAgent: new Agent({ ca: target.vault.caCert }) } : {}),
  });
}

/** The path of a secret in the HTTP API: KV v2 puts `data/` after the mount. */
export function dataPath(target: Target, path: string): string {
  return target.kvVersion === 2 ? `${target.kvMount}/data/${path}` : `${target.kvMount}/${path}`;
}

function policy(target: Target): string {
  const name = target.kvVersion === 2 ? 'policy-writer.hcl' : 'kv1-policy-writer.hcl';
  return readFileSync(fileURLToPath(new URL(`../vault/${name}`, import.meta.url)), 'utf8')
    .replaceAll('"secret/', `"${target.kvMount}/`)
    .replaceAll('aws/iam-users/', target.pathPrefix);
}

/** Vault answers 400 when something already exists; provisioning is then already done. */
async function ignoringExisting(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!axios.isAxiosError(error) || error.response?.status !== 400) throw error;
  }
}

export interface Provisioned {
  kmsKeyId: string;
  /** The HMAC_256 keys (their ARNs) that sign the pin (verifyKey) and the claim (createKey) tags. */
  pinKeyId: string;
  claimKeyId: string;
  /** The account the rotator is deployed in (the handlers' ROTATOR_ACCOUNT_ID). */
  accountId: string;
  /** The identity the handlers run as (the Lambda role in AWS). */
  rotatorArn: string;
  /** Environment for the auth method: role ids and where secrets are stored, never the secrets. */
  authEnvironment: Record<string, string>;
  /** What each function's invocations see on top of the process environment (its role's keys). */
  functionEnvironment: FunctionEnvironment;
}

/** What a deployment has: the sealing key, the namespace and KV mount, the Vault policy and auth role. */
export async function provisionRotator(target: Target): Promise<Provisioned> {
  const kms = new KMSClient(awsConfig(target));
  const key = await kms.send(new CreateKeyCommand({ Description: 'iam-key-rotator local sealing key' }));
  const kmsKeyId = key.KeyMetadata?.KeyId;
  if (!kmsKeyId) throw new Error('KMS CreateKey returned no KeyId');
  const [pinKey, claimKey] = await Promise.all(
    ['pin', 'claim'].map((tag) =>
      kms.send(
        new CreateKeyCommand({
          Description: `iam-key-rotator local ${tag} signing key`,
          KeySpec: 'HMAC_256',
          KeyUsage: 'GENERATE_VERIFY_MAC',
        }),
      ),
    ),
  );
  const pinKeyId = pinKey?.KeyMetadata?.Arn;
  const claimKeyId = claimKey?.KeyMetadata?.Arn;
  if (!pinKeyId || !claimKeyId) throw new Error('KMS CreateKey returned no Arn');
  const sts = new STSClient(awsConfig(target));
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const rotatorArn = identity.Arn ?? '';
  if (target.namespace) {
    await ignoringExisting(
      vaultAdmin(target, { rootNamespace: true }).post(`sys/namespaces/${target.namespace}`, {}),
    );
  }
  const vault = vaultAdmin(target);
  await ignoringExisting(
    vault.post(`sys/mounts/${target.kvMount}`, {
      type: 'kv',
      options: { version: String(target.kvVersion) },
    }),
  );
  await vault.put(`sys/policies/acl/${ROTATOR_ROLE}`, { policy: policy(target) });
  const perFunction = target.aws.perFunctionRoles === true;
  const accountId = identity.Account ?? '';
  const authEnvironment = await provisionAuth(target, [
    rotatorArn,
    ...(perFunction ? policies.VAULT_FUNCTIONS.map((fn) => functionRoleArn(accountId, fn)) : []),
  ]);
  const roles = perFunction
    ? await provisionFunctionRoles(
        { iam: new IAMClient(awsConfig(target)), sts },
        {
          region: target.aws.region,
          accountId,
          sealingKeyArn: key.KeyMetadata?.Arn ?? '',
          pinKeyArn: pinKeyId,
          claimKeyArn: claimKeyId,
          userPath: USER_PATH,
        },
        {
          ...vaultSecretSettings(authEnvironment),
          ...(target.allowedAccountIds?.length
            ? { targetAccounts: { accountIds: target.allowedAccountIds } }
            : {}),
        },
      )
    : undefined;
  for (const member of target.memberAccounts ?? []) {
    await provisionTargetRole(new IAMClient({ ...awsConfig(target), credentials: member.credentials }), {
      accountId: member.accountId,
      rotatorAccountId: accountId,
      externalId: member.externalId ?? target.targetExternalId ?? LOCAL_TARGET_EXTERNAL_ID,
      roleName: LOCAL_TARGET_ROLE_NAME,
      userPath: USER_PATH,
      region: target.aws.region,
    });
  }
  return {
    kmsKeyId,
    pinKeyId,
    claimKeyId,
    accountId,
    rotatorArn,
    authEnvironment,
    functionEnvironment: roles?.environment ?? {},
  };
}

/**
 * The deployment settings that grant the Vault functions the secret their auth method reads. The
 * local stack keeps one credential for readers and writers alike.
 */
function vaultSecretSettings(auth: Record<string, string>): PolicySettings {
  const sources: VaultCredentialSources = {
    ...(auth.VAULT_APPROLE_SECRET_ID_SECRET ? { appRoleSecretId: auth.VAULT_APPROLE_SECRET_ID_SECRET } : {}),
    ...(auth.VAULT_TOKEN_SECRET_ID ? { tokenSecret: auth.VAULT_TOKEN_SECRET_ID } : {}),
  };
  return { reader: sources, writer: sources };
}

async function storeSecret(target: Target, name: string, value: string): Promise<string> {
  const client = new SecretsManagerClient(awsConfig(target));
  const out = await client.send(
    new CreateSecretCommand({
      Name: `${name}-${Math.random().toString(36).slice(2, 8)}`,
      SecretString: value,
    }),
  );
  return out.ARN ?? '';
}

async function provisionAuth(target: Target, principalArns: string[]): Promise<Record<string, string>> {
  const vault = vaultAdmin(target);
  switch (target.vaultAuth) {
    case 'aws': {
      // Replay protection as a deployment has it: the handlers send Vault's host name by default.
      await vault.post('auth/aws/config/client', {
        iam_server_id_header_value: new URL(target.vault.addr).hostname.replace(/^\[(.*)\]$/, '$1'),
        ...(target.aws.endpoint ? { sts_endpoint: target.aws.endpoint, sts_region: target.aws.region } : {}),
      });
      await vault.post(`auth/aws/role/${ROTATOR_ROLE}`, {
        auth_type: 'iam',
        bound_iam_principal_arn: principalArns,
        token_policies: [ROTATOR_ROLE],
        token_ttl: 900,
      });
      return {
        VAULT_AUTH_METHOD: 'aws',
        VAULT_AWS_AUTH_ROLE: ROTATOR_ROLE,
        ...(target.aws.endpoint
          ? { VAULT_AWS_STS_ENDPOINT: target.aws.endpoint, VAULT_AWS_STS_REGION: target.aws.region }
          : {}),
      };
    }
    case 'approle': {
      await vault.post(`auth/approle/role/${ROTATOR_ROLE}`, {
        token_policies: [ROTATOR_ROLE],
        token_ttl: 900,
      });
      const roleId = (await vault.get(`auth/approle/role/${ROTATOR_ROLE}/role-id`)).data as {
        data: { role_id: string };
      };
      const secretId = (await vault.post(`auth/approle/role/${ROTATOR_ROLE}/secret-id`, {})).data as {
        data: { secret_id: string };
      };
      return {
        VAULT_AUTH_METHOD: 'approle',
        VAULT_APPROLE_ROLE_ID: roleId.data.role_id,
        VAULT_APPROLE_SECRET_ID_SECRET: await storeSecret(
          target,
          'iam-key-rotator/approle-secret-id',
          JSON.stringify({ secret_id: secretId.data.secret_id }),
        ),
      };
    }
    case 'token': {
      const created = (await vault.post('auth/token/create', { policies: [ROTATOR_ROLE], ttl: '1h' }))
        .data as {
        auth: { client_token: string };
      };
      return {
        VAULT_AUTH_METHOD: 'token',
        VAULT_TOKEN_SECRET_ID: await storeSecret(
          target,
          'iam-key-rotator/vault-token',
          created.auth.client_token,
        ),
      };
    }
  }
}

export interface SeededUser {
  userName: string;
  vaultPath: string;
  /** The key the user had before the rotation, stored in Vault when `storeInVault`. */
  oldAccessKeyId: string | null;
  /** The member account the user is in (one of `target.memberAccounts`); absent: the target's own. */
  accountId?: string;
}

/** The account the target's own credentials act in, asked of STS once per target. */
const ownAccounts = new WeakMap<Target, Promise<string>>();
function ownAccountId(target: Target): Promise<string> {
  let id = ownAccounts.get(target);
  if (!id) {
    id = new STSClient(awsConfig(target))
      .send(new GetCallerIdentityCommand({}))
      .then((identity) => identity.Account ?? '');
    ownAccounts.set(target, id);
  }
  return id;
}

/** IAM in the user's account: a member account's administrator there, else the target's credentials. */
function iamOf(target: Target, accountId: string | undefined): IAMClient {
  if (accountId === undefined) return new IAMClient(awsConfig(target));
  const member = target.memberAccounts?.find((m) => m.accountId === accountId);
  if (!member) throw new Error(`account ${accountId} is not one of the target's memberAccounts`);
  return new IAMClient({ ...awsConfig(target), credentials: member.credentials });
}

/**
 * Creates an IAM user under the rotated path with `keys` access keys, in the target's own account or
 * in one of its member accounts (`accountId`); the newest key goes to Vault, at the path ValidateInput
 * fills in from the deployment's template for that user and account, or at `vaultPath` (a custom path
 * its consumers read).
 */
export async function seedUser(
  target: Target,
  userName: string,
  options: { keys?: number; storeInVault?: boolean; accountId?: string; vaultPath?: string } = {},
): Promise<SeededUser> {
  const { accountId } = options;
  const iam = iamOf(target, accountId);
  await iam.send(new CreateUserCommand({ UserName: userName, Path: USER_PATH }));
  const template = target.vaultPathTemplate ?? '{prefix}{userName}';
  const vaultPath =
    options.vaultPath ??
    defaultPath(template, {
      prefix: target.pathPrefix,
      userName,
      // The own account's id is asked for only when the template needs it.
      accountId: accountId ?? (template.includes('{accountId}') ? await ownAccountId(target) : ''),
    });
  let newest: { AccessKeyId?: string; SecretAccessKey?: string } | undefined;
  for (let i = 0; i < (options.keys ?? 1); i++) {
    newest = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
  }
  if (newest?.AccessKeyId && newest.SecretAccessKey && options.storeInVault !== false) {
    const data = { access_key: newest.AccessKeyId, secret_key: newest.SecretAccessKey };
    await vaultAdmin(target).post(dataPath(target, vaultPath), target.kvVersion === 2 ? { data } : data);
  }
  return {
    userName,
    vaultPath,
    oldAccessKeyId: newest?.AccessKeyId ?? null,
    ...(accountId === undefined ? {} : { accountId }),
  };
}

/** A fingerprint that shows whether two secrets are equal without showing either. */
export function fingerprint(secret: string): string {
  return `redacted:sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

/** The key pair Vault serves at the path, with its version (KV v1: 1), or null. */
export async function readVaultKey(
  target: Target,
  path: string,
): Promise<{ version: number; accessKeyId: string; secretAccessKey: string } | null> {
  const response = await vaultAdmin(target).get(dataPath(target, path), {
    validateStatus: (s) => s === 200 || s === 404,
  });
  if (response.status !== 200) return null;
  const body = response.data as { data?: Record<string, unknown> };
  const v2 = body.data as
    { data?: Record<string, unknown> | null; metadata?: { version: number } } | undefined;
  const data = target.kvVersion === 2 ? v2?.data : body.data;
  const accessKeyId = data?.access_key;
  const secretAccessKey = data?.secret_key;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return null;
  return { version: target.kvVersion === 2 ? (v2?.metadata?.version ?? 0) : 1, accessKeyId, secretAccessKey };
}

export interface Observed {
  accessKeys: { accessKeyId: string; status: string; createDate: string }[];
  vault: { version: number; accessKeyId: string; secretAccessKey: string } | null;
}

/**
 * The user's keys in IAM (in the user's account) and what Vault serves at the path, the secret
 * shown only as a fingerprint.
 */
export async function observe(target: Target, user: SeededUser): Promise<Observed> {
  const iam = iamOf(target, user.accountId);
  const listed = await iam.send(new ListAccessKeysCommand({ UserName: user.userName }));
  const accessKeys = (listed.AccessKeyMetadata ?? [])
    .map((k) => ({
      accessKeyId: k.AccessKeyId ?? '',
      status: k.Status ?? '',
      createDate: k.CreateDate?.toISOString() ?? '',
    }))
    .sort((a, b) => a.createDate.localeCompare(b.createDate));
  const served = await readVaultKey(target, user.vaultPath);
  return {
    accessKeys,
    vault: served ? { ...served, secretAccessKey: fingerprint(served.secretAccessKey) } : null,
  };
}

/** The handlers' environment for this target: what serverless.yml sets in AWS, pointed here. */
export function rotatorEnvironment(target: Target, provisioned: Provisioned): Record<string, string> {
  const { aws } = target;
  const floors = { ...DEFAULT_FLOORS, ...target.floors };
  return {
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    ...(aws.endpoint ? { AWS_ENDPOINT_URL: aws.endpoint } : {}),
    ROTATOR_KMS_KEY_ID: provisioned.kmsKeyId,
    ROTATOR_PIN_KEY_ID: provisioned.pinKeyId,
    ROTATOR_CLAIM_KEY_ID: provisioned.claimKeyId,
    ROTATOR_ALLOW_VAULT_PATH_ADOPT: String(floors.allowVaultPathAdopt),
    ROTATOR_ACCOUNT_ID: provisioned.accountId,
    ROTATOR_ALLOWED_ACCOUNT_IDS: (target.allowedAccountIds ?? []).join(','),
    ROTATOR_TARGET_EXTERNAL_ID: target.targetExternalId ?? LOCAL_TARGET_EXTERNAL_ID,
    ROTATOR_AWS_TIMEOUT_MS: '2000',
    ROTATOR_USER_PATH: USER_PATH,
    ROTATOR_MIN_GRACE_SECONDS: String(floors.minGraceSeconds),
    ROTATOR_MIN_RECOVERY_SECONDS: String(floors.minRecoverySeconds),
    ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: String(floors.allowOldKeyInUseProceed),
    ROTATOR_ALLOW_VAULT_PATH_MOVE: String(floors.allowVaultPathMove),
    ROTATOR_ALLOW_DELETE_INACTIVE_KEY: String(floors.allowDeleteInactiveKey),
    VAULT_ADDR: target.vault.addr,
    VAULT_NAMESPACE: target.namespace ?? '',
    VAULT_KV_MOUNT: target.kvMount,
    VAULT_PATH_PREFIX: target.pathPrefix,
    ...(target.vaultPathTemplate ? { VAULT_PATH_TEMPLATE: target.vaultPathTemplate } : {}),
    VAULT_TIMEOUT_MS: '2000',
    ...(target.vault.caCert ? { VAULT_CACERT_PEM: target.vault.caCert } : {}),
    ...provisioned.authEnvironment,
  };
}
