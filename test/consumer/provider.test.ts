import { CreateAccessKeyCommand, IAMClient, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromVault, NoKeyAtPathError, refreshOnAuthError } from '../../consumer/index.js';
import { ConfigurationError } from '../../functions/commons/errors.js';
import { VaultPermissionDeniedError, VaultUnavailableError } from '../../functions/commons/vault/errors.js';
import { vaultAdmin } from '../../local-stack/provision.js';
import { consumerToken } from '../support/consumer.js';
import { useLocalStack } from '../support/local-stack.js';

const ctx = useLocalStack();

let paths = 0;
/** A path no other test uses, holding `key` (fields as the rotator writes them), and a token reading it only. */
async function served(key: {
  access_key: string;
  secret_key: string;
}): Promise<{ path: string; token: string }> {
  const path = `aws/iam-users/provider-${(paths += 1)}`;
  write(path, key);
  return { path, token: await consumerToken(ctx.target, path) };
}

const write = (path: string, key: { access_key: string; secret_key: string }) =>
  ctx.stack.vault.writeSecret({ mount: 'secret', path, data: key });

const pair = (n: number) => ({ access_key: `AKIAPROVIDERTEST000${n}`, secret_key: `provider/secret/${n}` });

/** Vault's KV reads since the last reset: each is one read of a key. */
const kvReads = () => ctx.stack.traffic.calls()['vault:kv-read'] ?? 0;
const stsCalls = () => ctx.stack.traffic.calls()['sts:GetCallerIdentity'] ?? 0;

function provider(path: string, token: string, refresh: number) {
  return fromVault({ vaultPath: path, address: ctx.target.vault.addr, refresh }, { VAULT_TOKEN: token });
}

describe('fromVault', () => {
  it("serves the cached key until the expiration, then Vault's current one", async () => {
    const { path, token } = await served(pair(1));
    const credentials = provider(path, token, 1);
    ctx.stack.traffic.resetCalls();

    const first = await credentials();
    expect(first.accessKeyId).toBe(pair(1).access_key);
    write(path, pair(2));
    expect((await credentials()).accessKeyId).toBe(pair(1).access_key);
    expect(kvReads()).toBe(1);

    const expiration = first.expiration?.getTime() ?? 0;
    await new Promise((resolve) => setTimeout(resolve, expiration - Date.now() + 20));
    const renewed = await credentials();
    expect(renewed).toMatchObject({ accessKeyId: pair(2).access_key, secretAccessKey: pair(2).secret_key });
    expect(kvReads()).toBe(2);
  });

  it('refuses bad options when made, before any request to Vault', () => {
    ctx.stack.traffic.resetCalls();
    expect(() => provider('/aws/iam-users/x', 'hvs.CAESIunusedBadOptionsToken00000', 60)).toThrow(
      ConfigurationError,
    );
    expect(ctx.stack.traffic.calls()).toEqual({});
  });

  it('sets the expiration to the read time plus refresh', async () => {
    const { path, token } = await served(pair(1));
    const credentials = provider(path, token, 3600);
    const before = Date.now();
    const identity = await credentials();
    const after = Date.now();
    const expiration = identity.expiration?.getTime() ?? 0;
    expect(expiration).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expiration).toBeLessThanOrEqual(after + 3_600_000);
  });

  it('shares one read among concurrent callers', async () => {
    const { path, token } = await served(pair(3));
    const credentials = provider(path, token, 3600);
    ctx.stack.traffic.resetCalls();
    const identities = await Promise.all(Array.from({ length: 8 }, () => credentials()));
    expect(kvReads()).toBe(1);
    expect(new Set(identities).size).toBe(1);
    expect(identities[0]?.accessKeyId).toBe(pair(3).access_key);
  });

  it('reads Vault at once on forceRefresh and refresh(), and caches what they read', async () => {
    const { path, token } = await served(pair(4));
    const credentials = provider(path, token, 3600);
    expect((await credentials()).accessKeyId).toBe(pair(4).access_key);
    ctx.stack.traffic.resetCalls();

    write(path, pair(5));
    expect((await credentials()).accessKeyId).toBe(pair(4).access_key);
    expect((await credentials({ forceRefresh: true })).accessKeyId).toBe(pair(5).access_key);
    write(path, pair(6));
    expect((await credentials.refresh()).accessKeyId).toBe(pair(6).access_key);
    expect((await credentials()).accessKeyId).toBe(pair(6).access_key);
    expect(kvReads()).toBe(2);
  });

  describe('each auth method, logging in to the Vault emulator', () => {
    /** A policy reading `path` only, as a consumer's (docs/consumers.md). */
    async function consumerPolicy(path: string): Promise<string> {
      const name = `consumer-login-${path.replaceAll('/', '-')}`;
      await vaultAdmin(ctx.target).put(`sys/policies/acl/${name}`, {
        policy: `path "secret/data/${path}" {\n  capabilities = ["read"]\n}\n`,
      });
      return name;
    }

    it('approle: the role_id given, the secret_id read from its file', async () => {
      const { path } = await served(pair(7));
      const admin = vaultAdmin(ctx.target);
      await admin.post('auth/approle/role/consumer', { token_policies: [await consumerPolicy(path)] });
      const roleId = (
        (await admin.get('auth/approle/role/consumer/role-id')).data as { data: { role_id: string } }
      ).data.role_id;
      const secretId = (
        (await admin.post('auth/approle/role/consumer/secret-id', {})).data as { data: { secret_id: string } }
      ).data.secret_id;
      const dir = mkdtempSync(join(tmpdir(), 'consumer-approle-'));
      const secretIdFile = join(dir, 'secret-id');
      writeFileSync(secretIdFile, `${secretId}\n`);
      try {
        const credentials = fromVault(
          {
            vaultPath: path,
            address: ctx.target.vault.addr,
            auth: { method: 'approle', roleId, secretIdFile },
          },
          {},
        );
        expect((await credentials()).accessKeyId).toBe(pair(7).access_key);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("aws: a login signed with the SDK's default chain (here the environment's keys)", async () => {
      const { path } = await served(pair(8));
      const sts = new STSClient({
        region: ctx.target.aws.region,
        endpoint: ctx.target.aws.endpoint,
        credentials: ctx.stack.aws.adminCredentials,
      });
      const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
      await vaultAdmin(ctx.target).post('auth/aws/role/consumer', {
        auth_type: 'iam',
        bound_iam_principal_arn: [Arn],
        token_policies: [await consumerPolicy(path)],
      });
      const { accessKeyId, secretAccessKey } = ctx.stack.aws.adminCredentials;
      const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey });
      try {
        const credentials = fromVault(
          {
            vaultPath: path,
            address: ctx.target.vault.addr,
            auth: {
              method: 'aws',
              role: 'consumer',
              stsEndpoint: ctx.target.aws.endpoint ?? '',
              stsRegion: ctx.target.aws.region,
            },
          },
          {},
        );
        ctx.stack.traffic.resetCalls();
        expect((await credentials()).accessKeyId).toBe(pair(8).access_key);
        // Vault forwarded the signed GetCallerIdentity to STS.
        expect(stsCalls()).toBe(1);
      } finally {
        for (const [name, value] of [
          ['AWS_ACCESS_KEY_ID', saved.id],
          ['AWS_SECRET_ACCESS_KEY', saved.secret],
        ] as const) {
          if (value === undefined) Reflect.deleteProperty(process.env, name);
          else process.env[name] = value;
        }
      }
    });
  });

  describe("Vault's failures, by name", () => {
    it('NoKeyAtPathError for a path holding no key', async () => {
      const path = 'aws/iam-users/provider-absent';
      const token = await consumerToken(ctx.target, path);
      await expect(provider(path, token, 60)()).rejects.toBeInstanceOf(NoKeyAtPathError);
    });

    it('VaultPermissionDeniedError for a token whose policy does not cover the path', async () => {
      const { path } = await served(pair(7));
      const elsewhere = await consumerToken(ctx.target, 'aws/iam-users/provider-elsewhere');
      const error = await provider(path, elsewhere, 60)().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VaultPermissionDeniedError);
      expect((error as Error).message).not.toContain(elsewhere);
    });

    it('VaultUnavailableError while Vault fails, and the next call reads again', async () => {
      const { path, token } = await served(pair(8));
      const credentials = provider(path, token, 60);
      ctx.stack.traffic.addFault('vault:kv-read:503');
      try {
        await expect(credentials()).rejects.toBeInstanceOf(VaultUnavailableError);
      } finally {
        ctx.stack.traffic.clearFaults();
      }
      expect((await credentials()).accessKeyId).toBe(pair(8).access_key);
    });

    it('VaultUnavailableError for a Vault that does not answer', async () => {
      const credentials = fromVault(
        { vaultPath: 'aws/iam-users/x', address: 'http://127.0.0.1:9', refresh: 60, timeoutMs: 500 },
        { VAULT_TOKEN: 'hvs.CAESIunusedUnreachableToken0000' },
      );
      await expect(credentials()).rejects.toBeInstanceOf(VaultUnavailableError);
    });
  });
});

describe('refreshOnAuthError on an STS client reading through fromVault (refresh 3600 s)', () => {
  const iam = () =>
    new IAMClient({
      region: ctx.target.aws.region,
      endpoint: ctx.target.aws.endpoint,
      credentials: ctx.target.aws.credentials,
    });

  /** An STS client whose every signed attempt records its access key id. */
  function sts(credentials: AwsCredentialIdentityProvider): { client: STSClient; signedWith: string[] } {
    const client = new STSClient({
      region: ctx.target.aws.region,
      endpoint: ctx.target.aws.endpoint,
      credentials,
      maxAttempts: 1,
    });
    const signedWith: string[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const authorization =
          (args.request as { headers?: Record<string, string> }).headers?.authorization ?? '';
        signedWith.push(/Credential=([A-Z0-9]+)\//.exec(authorization)?.[1] ?? '');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'recordSigningKey' },
    );
    return { client, signedWith };
  }

  /** A user whose one key Vault serves, and a consumer token for its path. */
  async function user(name: string) {
    const seeded = await ctx.seed(name);
    const oldKeyId = seeded.oldAccessKeyId;
    if (!oldKeyId) throw new Error('the seeded user has no key');
    return { ...seeded, oldKeyId, token: await consumerToken(ctx.target, seeded.vaultPath) };
  }

  /** What a rotation does that the consumer sees: a new key in Vault, the old one deactivated. */
  async function rotateUnderneath(userName: string, vaultPath: string, oldKeyId: string): Promise<string> {
    const created = (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    if (!created?.AccessKeyId || !created.SecretAccessKey) throw new Error('IAM returned no key');
    write(vaultPath, { access_key: created.AccessKeyId, secret_key: created.SecretAccessKey });
    await iam().send(
      new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: oldKeyId, Status: 'Inactive' }),
    );
    return created.AccessKeyId;
  }

  it('recovers from a deactivated cached key with exactly one retry; a client without it keeps failing', async () => {
    const u = await user('consumer-auth-retry');
    const wrapped = sts(provider(u.vaultPath, u.token, 3600));
    refreshOnAuthError(wrapped.client);
    const plain = sts(provider(u.vaultPath, u.token, 3600));
    await wrapped.client.send(new GetCallerIdentityCommand({}));
    await plain.client.send(new GetCallerIdentityCommand({}));
    expect([...wrapped.signedWith, ...plain.signedWith]).toEqual([u.oldKeyId, u.oldKeyId]);

    const newKeyId = await rotateUnderneath(u.userName, u.vaultPath, u.oldKeyId);
    await expect(plain.client.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });

    ctx.stack.traffic.resetCalls();
    wrapped.signedWith.length = 0;
    const identity = await wrapped.client.send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toMatch(/:user\/.*consumer-auth-retry$/);
    expect(wrapped.signedWith).toEqual([u.oldKeyId, newKeyId]);
    expect(stsCalls()).toBe(2);
    expect(kvReads()).toBe(1);

    // The refreshed key is the client's from now on: one call, no retry.
    await wrapped.client.send(new GetCallerIdentityCommand({}));
    expect(wrapped.signedWith).toEqual([u.oldKeyId, newKeyId, newKeyId]);
    expect(stsCalls()).toBe(3);
  });

  it('retries once only when Vault still serves the refused key', async () => {
    const u = await user('consumer-auth-stale');
    const wrapped = sts(provider(u.vaultPath, u.token, 3600));
    refreshOnAuthError(wrapped.client);
    await wrapped.client.send(new GetCallerIdentityCommand({}));
    await iam().send(
      new UpdateAccessKeyCommand({ UserName: u.userName, AccessKeyId: u.oldKeyId, Status: 'Inactive' }),
    );

    ctx.stack.traffic.resetCalls();
    wrapped.signedWith.length = 0;
    await expect(wrapped.client.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
    expect(wrapped.signedWith).toEqual([u.oldKeyId, u.oldKeyId]);
    expect(stsCalls()).toBe(2);
    expect(kvReads()).toBe(1);
  });

  it('does not retry or re-read Vault on an error that is not about the key', async () => {
    const u = await user('consumer-auth-other');
    const wrapped = sts(provider(u.vaultPath, u.token, 3600));
    refreshOnAuthError(wrapped.client);
    await wrapped.client.send(new GetCallerIdentityCommand({}));

    ctx.stack.traffic.resetCalls();
    wrapped.signedWith.length = 0;
    ctx.stack.traffic.addFault('sts:GetCallerIdentity:AccessDenied');
    try {
      await expect(wrapped.client.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    } finally {
      ctx.stack.traffic.clearFaults();
    }
    expect(wrapped.signedWith).toEqual([u.oldKeyId]);
    expect(stsCalls()).toBe(1);
    expect(kvReads()).toBe(0);
  });
});
