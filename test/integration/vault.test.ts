import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ErrorsModule from '../../functions/commons/vault/errors.js';
import type * as StoredKeyModule from '../../functions/commons/vault/stored-key.js';
import { startVaultEmulator, type VaultEmulator } from '../../local-stack/vault/index.js';

// Imported after the environment is set: the modules read it once.

// The rotator's Vault code against a Vault: the emulator, or a real one when VAULT_ADDR and
// VAULT_TOKEN are set (the token must manage policies and tokens, and write to secret/).
const external = process.env.VAULT_ADDR && process.env.VAULT_TOKEN;
let emulator: VaultEmulator | undefined;
let admin: AxiosInstance;
let storedKey: typeof StoredKeyModule;
let errors: typeof ErrorsModule;
const prefix = `aws/iam-users/it-${randomUUID().slice(0, 8)}/`;
const key = (n: number) => ({
  accessKeyId: `AKIATEST${String(n).padStart(12, '0')}`,
  secretAccessKey: `s${n}`.repeat(20),
});

beforeAll(async () => {
  let addr = process.env.VAULT_ADDR ?? '';
  let token = process.env.VAULT_TOKEN ?? '';
  if (!external) {
    emulator = await startVaultEmulator({ stsEndpoint: 'http://127.0.0.1:9' });
    addr = emulator.addr;
    token = emulator.rootToken;
  }
  admin = axios.create({ baseURL: `${addr}/v1/`, headers: { 'X-Vault-Token': token } });
  await admin.put('sys/policies/acl/iam-key-rotator-it', {
    policy: `path "secret/data/${prefix}*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/${prefix}*" { capabilities = ["create", "update", "read"] }`,
  });
  const created = await admin.post('auth/token/create', { policies: ['iam-key-rotator-it'], ttl: '10m' });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    ROTATOR_KMS_KEY_ID: 'unused',
    ROTATOR_PIN_KEY_ID: 'unused',
    ROTATOR_CLAIM_KEY_ID: 'unused',
    VAULT_ADDR: addr,
    VAULT_AUTH_METHOD: 'token',
    VAULT_TOKEN: (created.data as { auth: { client_token: string } }).auth.client_token,
    VAULT_PATH_PREFIX: 'aws/iam-users/',
  });
  storedKey = await import('../../functions/commons/vault/stored-key.js');
  errors = await import('../../functions/commons/vault/errors.js');
});

afterAll(async () => {
  await emulator?.close();
});

describe(`Vault KV v2 client against ${external ? process.env.VAULT_ADDR : 'the Vault emulator'}`, () => {
  it('reads an empty path as version 0 without a key', async () => {
    expect(await storedKey.readStoredKey(`${prefix}empty`)).toEqual({ version: 0, key: null, data: null });
  });

  it('writes versions with check-and-set and reads current and older versions back', async () => {
    const path = `${prefix}versions`;
    expect(await storedKey.writeStoredKey(path, key(1), { version: 0, accessKeyId: null })).toBe(1);
    expect(
      await storedKey.writeStoredKey(path, key(2), { version: 1, accessKeyId: key(1).accessKeyId }),
    ).toBe(2);
    expect((await storedKey.readStoredKey(path)).key).toEqual(key(2));
    expect((await storedKey.readStoredKey(path)).version).toBe(2);
    expect((await storedKey.readStoredKey(path, 1)).key).toEqual(key(1));
  });

  it('refuses a write against a stale version with VaultCasConflictError', async () => {
    const path = `${prefix}cas`;
    await storedKey.writeStoredKey(path, key(1), { version: 0, accessKeyId: null });
    const failure = await storedKey
      .writeStoredKey(path, key(2), { version: 0, accessKeyId: null })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(errors.VaultCasConflictError);
    expect((failure as Error).name).toBe('VaultCasConflictError');
    expect((failure as Error).message).not.toContain(key(2).secretAccessKey);
  });

  it('records custom metadata on the secret', async () => {
    const path = `${prefix}metadata`;
    await storedKey.writeStoredKey(path, key(1), { version: 0, accessKeyId: null });
    await storedKey.describeRotation(path, { rotated_by: 'it', access_key_id: key(1).accessKeyId });
    const metadata = await admin.get(`secret/metadata/${path}`);
    expect(
      (metadata.data as { data: { custom_metadata: Record<string, string> } }).data.custom_metadata,
    ).toEqual({
      rotated_by: 'it',
      access_key_id: key(1).accessKeyId,
    });
  });

  it('soft-deletes the current version so the path reads as empty but keeps its version', async () => {
    const path = `${prefix}deleted`;
    await storedKey.writeStoredKey(path, key(1), { version: 0, accessKeyId: null });
    await storedKey.deleteCurrentVersion(path);
    expect(await storedKey.readStoredKey(path)).toEqual({ version: 1, key: null, data: null });
  });

  it('maps a path outside the policy to VaultPermissionDeniedError without the token in the message', async () => {
    const failure = await storedKey
      .writeStoredKey('elsewhere/key', key(1), { version: 0, accessKeyId: null })
      .catch((e: unknown) => e);
    expect((failure as Error).name).toBe('VaultPermissionDeniedError');
    expect((failure as InstanceType<typeof errors.VaultPermissionDeniedError>).status).toBe(403);
    expect((failure as Error).message).not.toContain(process.env.VAULT_TOKEN ?? 'no token');
  });
});
