import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import axios, { type AxiosInstance } from 'axios';

/** Where the rotator runs against: the local stack, or a real AWS endpoint and Vault. */
export interface Target {
  aws: {
    /** Undefined: the SDK's own endpoint resolution (real AWS). */
    endpoint: string | undefined;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  vault: { addr: string; token: string };
  /** Vault's auth method for the handlers: `aws` needs a Vault whose STS endpoint is `aws.endpoint`. */
  vaultAuth: 'aws' | 'token';
  kvMount: string;
  pathPrefix: string;
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
export function vaultAdmin(target: Target): AxiosInstance {
  return axios.create({
    baseURL: `${target.vault.addr.replace(/\/+$/, '')}/v1/`,
    headers: { 'X-Vault-Token': target.vault.token },
    timeout: 5_000,
  });
}

function policy(target: Target): string {
  const file = fileURLToPath(new URL('../vault/policy-writer.hcl', import.meta.url));
  return readFileSync(file, 'utf8')
    .replaceAll('secret/', `${target.kvMount}/`)
    .replaceAll('aws/iam-users/', target.pathPrefix);
}

export interface Provisioned {
  kmsKeyId: string;
  /** The identity the handlers run as (the Lambda role in AWS). */
  rotatorArn: string;
}

/** What a deployment creates: the sealing key, the Vault policy and the Vault AWS auth role. */
export async function provisionRotator(target: Target): Promise<Provisioned> {
  const kms = new KMSClient(awsConfig(target));
  const key = await kms.send(new CreateKeyCommand({ Description: 'iam-key-rotator local sealing key' }));
  const kmsKeyId = key.KeyMetadata?.KeyId;
  if (!kmsKeyId) throw new Error('KMS CreateKey returned no KeyId');
  const identity = await new STSClient(awsConfig(target)).send(new GetCallerIdentityCommand({}));
  const rotatorArn = identity.Arn ?? '';
  const vault = vaultAdmin(target);
  await vault.put(`sys/policies/acl/${ROTATOR_ROLE}`, { policy: policy(target) });
  if (target.vaultAuth === 'aws' && target.aws.endpoint) {
    await vault.post('auth/aws/config/client', {
      sts_endpoint: target.aws.endpoint,
      sts_region: target.aws.region,
    });
    await vault.post(`auth/aws/role/${ROTATOR_ROLE}`, {
      auth_type: 'iam',
      bound_iam_principal_arn: [rotatorArn],
      token_policies: [ROTATOR_ROLE],
      token_ttl: 900,
    });
  }
  return { kmsKeyId, rotatorArn };
}

export interface SeededUser {
  userName: string;
  vaultPath: string;
  /** The key the user had before the rotation, stored in Vault when `storeInVault`. */
  oldAccessKeyId: string | null;
}

/** Creates an IAM user under the rotated path with `keys` access keys; the newest goes to Vault. */
export async function seedUser(
  target: Target,
  userName: string,
  options: { keys?: number; storeInVault?: boolean } = {},
): Promise<SeededUser> {
  const iam = new IAMClient(awsConfig(target));
  await iam.send(new CreateUserCommand({ UserName: userName, Path: USER_PATH }));
  const vaultPath = `${target.pathPrefix}${userName}`;
  let newest: { AccessKeyId?: string; SecretAccessKey?: string } | undefined;
  for (let i = 0; i < (options.keys ?? 1); i++) {
    newest = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
  }
  if (newest?.AccessKeyId && newest.SecretAccessKey && options.storeInVault !== false) {
    await vaultAdmin(target).post(`${target.kvMount}/data/${vaultPath}`, {
      data: { access_key: newest.AccessKeyId, secret_key: newest.SecretAccessKey },
    });
  }
  return { userName, vaultPath, oldAccessKeyId: newest?.AccessKeyId ?? null };
}

/** A fingerprint that shows whether two secrets are equal without showing either. */
export function fingerprint(secret: string): string {
  return `redacted:sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

export interface Observed {
  accessKeys: { accessKeyId: string; status: string; createDate: string }[];
  vault: { version: number; accessKeyId: string; secretAccessKey: string } | null;
}

/** The user's keys in IAM and what Vault serves at the path, secret shown only as a fingerprint. */
export async function observe(target: Target, user: SeededUser): Promise<Observed> {
  const iam = new IAMClient(awsConfig(target));
  const listed = await iam.send(new ListAccessKeysCommand({ UserName: user.userName }));
  const accessKeys = (listed.AccessKeyMetadata ?? [])
    .map((k) => ({
      accessKeyId: k.AccessKeyId ?? '',
      status: k.Status ?? '',
      createDate: k.CreateDate?.toISOString() ?? '',
    }))
    .sort((a, b) => a.createDate.localeCompare(b.createDate));
  const response = await vaultAdmin(target).get(`${target.kvMount}/data/${user.vaultPath}`, {
    validateStatus: (s) => s === 200 || s === 404,
  });
  const body = response.data as {
    data?: { data?: Record<string, string> | null; metadata?: { version: number } };
  };
  const data = response.status === 200 ? body.data?.data : null;
  return {
    accessKeys,
    vault:
      data?.access_key && data.secret_key
        ? {
            version: body.data?.metadata?.version ?? 0,
            accessKeyId: data.access_key,
            secretAccessKey: fingerprint(data.secret_key),
          }
        : null,
  };
}

/** The handlers' environment for this target: what serverless.yml sets in AWS, pointed here. */
export function rotatorEnvironment(target: Target, provisioned: Provisioned): Record<string, string> {
  const { aws } = target;
  return {
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    ...(aws.endpoint ? { AWS_ENDPOINT_URL: aws.endpoint } : {}),
    ROTATOR_KMS_KEY_ID: provisioned.kmsKeyId,
    ROTATOR_AWS_TIMEOUT_MS: '2000',
    VAULT_ADDR: target.vault.addr,
    VAULT_KV_MOUNT: target.kvMount,
    VAULT_PATH_PREFIX: target.pathPrefix,
    VAULT_TIMEOUT_MS: '2000',
    ...(target.vaultAuth === 'aws'
      ? {
          VAULT_AUTH_METHOD: 'aws',
          VAULT_AWS_AUTH_ROLE: ROTATOR_ROLE,
          ...(aws.endpoint ? { VAULT_AWS_STS_ENDPOINT: aws.endpoint, VAULT_AWS_STS_REGION: aws.region } : {}),
        }
      : { VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: target.vault.token }),
  };
}
