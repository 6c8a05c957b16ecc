import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as StoredKeyModule from '../../../../functions/commons/vault/stored-key.js';
import type { VaultEmulator } from '../../../../local-stack/vault/index.js';
import {
  OLD_SECRET,
  rejectionOf,
  SECRET,
  setHandlerEnv,
  startVault,
  uniqueUser,
  vaultPathOf,
} from '../../support.js';

let vault: VaultEmulator;
let mod: typeof StoredKeyModule;

beforeAll(async () => {
  vault = await startVault();
  setHandlerEnv(vault);
  mod = await import('../../../../functions/commons/vault/stored-key.js');
});

afterAll(async () => {
  await vault.close();
});

const path = () => vaultPathOf(uniqueUser());

describe('readStoredKey', () => {
  it('answers version 0 and no key for a path never written', async () => {
    await expect(mod.readStoredKey(path())).resolves.toEqual({ version: 0, key: null });
  });

  it('reads access_key and secret_key of the current version', async () => {
    const p = path();
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIAOLD', secret_key: OLD_SECRET } });
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIANEW', secret_key: SECRET } });
    await expect(mod.readStoredKey(p)).resolves.toEqual({
      version: 2,
      key: { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
    });
  });

  it('reads a given version', async () => {
    const p = path();
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIAOLD', secret_key: OLD_SECRET } });
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIANEW', secret_key: SECRET } });
    await expect(mod.readStoredKey(p, 1)).resolves.toEqual({
      version: 1,
      key: { accessKeyId: 'AKIAOLD', secretAccessKey: OLD_SECRET },
    });
  });

  it('answers the version and no key when the current version is deleted', async () => {
    const p = path();
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIAOLD', secret_key: OLD_SECRET } });
    await mod.deleteCurrentVersion(p);
    await expect(mod.readStoredKey(p)).resolves.toEqual({ version: 1, key: null });
  });

  it.each([
    ['without secret_key', { access_key: 'AKIAOLD' }],
    ['with a non-string access_key', { access_key: 42, secret_key: SECRET }],
    ['with other field names', { accessKeyId: 'AKIAOLD', secretAccessKey: SECRET }],
  ])('throws VaultDataError, without the secret in the message, for a secret %s', async (_what, data) => {
    const p = path();
    vault.writeSecret({ mount: 'secret', path: p, data });
    const error = await rejectionOf(mod.readStoredKey(p));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain(p);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('writeStoredKey', () => {
  it('writes the pair under access_key and secret_key and returns the new version', async () => {
    const p = path();
    await expect(mod.writeStoredKey(p, { accessKeyId: 'AKIANEW', secretAccessKey: SECRET }, 0)).resolves.toBe(
      1,
    );
    expect(vault.readSecret('secret', p)?.data).toEqual({ access_key: 'AKIANEW', secret_key: SECRET });
  });

  it('throws VaultCasConflictError when the version moved', async () => {
    const p = path();
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIAOLD', secret_key: OLD_SECRET } });
    const error = await rejectionOf(
      mod.writeStoredKey(p, { accessKeyId: 'AKIANEW', secretAccessKey: SECRET }, 0),
    );
    expect(error.name).toBe('VaultCasConflictError');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('describeRotation', () => {
  it('sets the custom metadata of the path', async () => {
    const p = path();
    vault.writeSecret({ mount: 'secret', path: p, data: { access_key: 'AKIAOLD', secret_key: OLD_SECRET } });
    await mod.describeRotation(p, { rotated_by: 'exec-1', access_key_id: 'AKIANEW' });
    expect(vault.readSecret('secret', p)?.metadata?.custom_metadata).toEqual({
      rotated_by: 'exec-1',
      access_key_id: 'AKIANEW',
    });
  });
});

describe('FIELDS', () => {
  it('uses the field names of Vault’s AWS secrets engine', () => {
    expect(mod.FIELDS).toEqual({ accessKeyId: 'access_key', secretAccessKey: 'secret_key' });
  });
});
