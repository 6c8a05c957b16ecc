import { beforeAll, describe, expect, it } from 'vitest';
import type * as StoredKeyModule from '../../../../functions/commons/vault/stored-key.js';
import {
  OLD_SECRET,
  rejectionOf,
  SECRET,
  uniqueUser,
  useVaultAndModule,
  vaultPathOf,
} from '../../support.js';

// deployment(env): a fresh stored-key module (and configuration) for another deployment's environment.
const {
  vault,
  module: mod,
  deployment,
} = useVaultAndModule(() => import('../../../../functions/commons/vault/stored-key.js'));

beforeAll(() => {
  vault().enableKv('legacy', 1);
});

/** Writes `data` at `p` as another writer would, so each test starts from a known stored value. */
const put = (p: string, data: Record<string, unknown>, mount = 'secret') =>
  vault().writeSecret({ mount, path: p, data });

const OLD = { access_key: 'AKIAOLD', secret_key: OLD_SECRET };

const path = () => vaultPathOf(uniqueUser());

describe('readStoredKey', () => {
  it('answers version 0 and no key for a path never written', async () => {
    await expect(mod().readStoredKey(path())).resolves.toEqual({ version: 0, key: null, data: null });
  });

  it('reads access_key and secret_key of the current version', async () => {
    const p = path();
    put(p, { access_key: 'AKIAOLD', secret_key: OLD_SECRET });
    put(p, { access_key: 'AKIANEW', secret_key: SECRET });
    await expect(mod().readStoredKey(p)).resolves.toEqual({
      version: 2,
      key: { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
      data: { access_key: 'AKIANEW', secret_key: SECRET },
    });
  });

  it('reads a given version', async () => {
    const p = path();
    put(p, { access_key: 'AKIAOLD', secret_key: OLD_SECRET });
    put(p, { access_key: 'AKIANEW', secret_key: SECRET });
    await expect(mod().readStoredKey(p, 1)).resolves.toEqual({
      version: 1,
      key: { accessKeyId: 'AKIAOLD', secretAccessKey: OLD_SECRET },
      data: OLD,
    });
  });

  it('answers every field of the secret in data, not only the key pair', async () => {
    const p = path();
    put(p, { ...OLD, owner: 'team-a', expires: '2025-01-01' });
    await expect(mod().readStoredKey(p)).resolves.toMatchObject({
      key: { accessKeyId: 'AKIAOLD', secretAccessKey: OLD_SECRET },
      data: { ...OLD, owner: 'team-a', expires: '2025-01-01' },
    });
  });

  it('answers the version and no key when the current version is deleted', async () => {
    const p = path();
    put(p, { access_key: 'AKIAOLD', secret_key: OLD_SECRET });
    await mod().deleteCurrentVersion(p);
    await expect(mod().readStoredKey(p)).resolves.toEqual({ version: 1, key: null, data: null });
  });

  it.each([
    ['without secret_key', { access_key: 'AKIAOLD' }],
    ['with a non-string access_key', { access_key: 42, secret_key: SECRET }],
    ['with other field names', { accessKeyId: 'AKIAOLD', secretAccessKey: SECRET }],
  ])('throws VaultDataError, without the secret in the message, for a secret %s', async (_what, data) => {
    const p = path();
    put(p, data);
    const error = await rejectionOf(mod().readStoredKey(p));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain(p);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('writeStoredKey', () => {
  it('writes the pair under access_key and secret_key and returns the new version', async () => {
    const p = path();
    await expect(
      mod().writeStoredKey(
        p,
        { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
        { version: 0, accessKeyId: null },
      ),
    ).resolves.toBe(1);
    expect(vault().readSecret('secret', p)?.data).toEqual({ access_key: 'AKIANEW', secret_key: SECRET });
  });

  it('writes the next version when the path still holds the version read', async () => {
    const p = path();
    put(p, OLD);
    await expect(
      mod().writeStoredKey(
        p,
        { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
        { version: 1, accessKeyId: 'AKIAOLD' },
      ),
    ).resolves.toBe(2);
  });

  it('throws VaultCasConflictError when the version moved', async () => {
    const p = path();
    put(p, { access_key: 'AKIAOLD', secret_key: OLD_SECRET });
    const error = await rejectionOf(
      mod().writeStoredKey(
        p,
        { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
        { version: 0, accessKeyId: null },
      ),
    );
    expect(error.name).toBe('VaultCasConflictError');
    expect(error.message).not.toContain(SECRET);
    expect(vault().readSecret('secret', p)?.data).toEqual(OLD);
  });
});

describe('describeRotation', () => {
  it('sets the custom metadata of the path', async () => {
    const p = path();
    put(p, { access_key: 'AKIAOLD', secret_key: OLD_SECRET });
    await mod().describeRotation(p, { rotated_by: 'exec-1', access_key_id: 'AKIANEW' });
    expect(vault().readSecret('secret', p)?.metadata?.custom_metadata).toEqual({
      rotated_by: 'exec-1',
      access_key_id: 'AKIANEW',
    });
  });
});

describe('restoreStoredData', () => {
  it('writes the data back exactly as given, as the next version', async () => {
    const p = path();
    const previous = { ...OLD, owner: 'team-a' };
    put(p, previous);
    put(p, { access_key: 'AKIANEW', secret_key: SECRET });
    await expect(mod().restoreStoredData(p, previous, { version: 2, accessKeyId: 'AKIANEW' })).resolves.toBe(
      3,
    );
    expect(vault().readSecret('secret', p)).toMatchObject({ data: previous, metadata: { version: 3 } });
  });

  it('throws VaultCasConflictError when another version was written since', async () => {
    const p = path();
    put(p, OLD);
    put(p, { access_key: 'AKIANEW', secret_key: SECRET });
    put(p, { access_key: 'AKIATHIRD', secret_key: SECRET });
    const error = await rejectionOf(mod().restoreStoredData(p, OLD, { version: 2, accessKeyId: 'AKIANEW' }));
    expect(error.name).toBe('VaultCasConflictError');
    expect(vault().readSecret('secret', p)?.metadata?.version).toBe(3);
  });
});

describe('field names and extra fields', () => {
  let custom: typeof StoredKeyModule;

  beforeAll(async () => {
    custom = await deployment({
      VAULT_FIELD_ACCESS_KEY: 'AWS_ACCESS_KEY_ID',
      VAULT_FIELD_SECRET_KEY: 'AWS_SECRET_ACCESS_KEY',
      VAULT_EXTRA_FIELDS: '{"owner":"team-a","access_key":"see AWS_ACCESS_KEY_ID"}',
    });
  });

  it('writes the pair under the configured names, with the extra fields', async () => {
    const p = path();
    await custom.writeStoredKey(
      p,
      { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
      { version: 0, accessKeyId: null },
    );
    expect(vault().readSecret('secret', p)?.data).toEqual({
      owner: 'team-a',
      access_key: 'see AWS_ACCESS_KEY_ID',
      AWS_ACCESS_KEY_ID: 'AKIANEW',
      AWS_SECRET_ACCESS_KEY: SECRET,
    });
  });

  it('reads the pair from the configured names', async () => {
    const p = path();
    put(p, { AWS_ACCESS_KEY_ID: 'AKIAOLD', AWS_SECRET_ACCESS_KEY: OLD_SECRET });
    await expect(custom.readStoredKey(p)).resolves.toMatchObject({
      version: 1,
      key: { accessKeyId: 'AKIAOLD', secretAccessKey: OLD_SECRET },
    });
  });

  it('throws VaultDataError naming the configured fields for a secret with the default names', async () => {
    const p = path();
    put(p, OLD);
    const error = await rejectionOf(custom.readStoredKey(p));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain('AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
    expect(error.message).not.toContain(OLD_SECRET);
  });
});

describe('kvVersion', () => {
  it('detects KV v2 at the default mount', async () => {
    await expect(mod().kvVersion()).resolves.toBe(2);
  });

  it('detects KV v1, once per container', async () => {
    const v1 = await deployment({ VAULT_KV_MOUNT: 'legacy' });
    vault().traffic.resetCalls();
    await expect(v1.kvVersion()).resolves.toBe(1);
    await v1.readStoredKey(path());
    await expect(v1.kvVersion()).resolves.toBe(1);
    expect(vault().traffic.calls()['vault:mounts']).toBe(1);
  });

  it('uses the configured version without asking Vault', async () => {
    const configured = await deployment({ VAULT_KV_MOUNT: 'legacy', VAULT_KV_VERSION: '1' });
    vault().traffic.resetCalls();
    await expect(configured.kvVersion()).resolves.toBe(1);
    expect(vault().traffic.calls()['vault:mounts']).toBeUndefined();
  });

  it('asks again after a failed detection', async () => {
    const later = await deployment({ VAULT_KV_MOUNT: 'legacy' });
    vault().seal();
    try {
      expect((await rejectionOf(later.kvVersion())).name).toBe('VaultUnavailableError');
    } finally {
      vault().unseal();
    }
    await expect(later.kvVersion()).resolves.toBe(1);
  });

  it('throws ConfigurationError naming VAULT_KV_VERSION when Vault refuses to tell', async () => {
    vault().putPolicy('elsewhere', 'path "other/*" { capabilities = ["read"] }');
    const limited = await deployment({
      VAULT_KV_MOUNT: 'legacy',
      VAULT_TOKEN: vault().createToken({ policies: ['elsewhere'] }),
    });
    const error = await rejectionOf(limited.readStoredKey(path()));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('VAULT_KV_VERSION');
  });
});

describe('on a KV v1 mount', () => {
  let v1: typeof StoredKeyModule;
  const legacy = (p: string) => vault().readSecret('legacy', p);

  beforeAll(async () => {
    v1 = await deployment({ VAULT_KV_MOUNT: 'legacy', VAULT_KV_VERSION: '1' });
  });

  it('reads version 0 for an empty path and version 1 with the pair for a written one', async () => {
    const p = path();
    await expect(v1.readStoredKey(p)).resolves.toEqual({ version: 0, key: null, data: null });
    put(p, OLD, 'legacy');
    await expect(v1.readStoredKey(p)).resolves.toEqual({
      version: 1,
      key: { accessKeyId: 'AKIAOLD', secretAccessKey: OLD_SECRET },
      data: OLD,
    });
  });

  it('replaces the value when it still holds the key read', async () => {
    const p = path();
    put(p, OLD, 'legacy');
    await expect(
      v1.writeStoredKey(
        p,
        { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
        { version: 1, accessKeyId: 'AKIAOLD' },
      ),
    ).resolves.toBe(1);
    expect(legacy(p)?.data).toEqual({ access_key: 'AKIANEW', secret_key: SECRET });
  });

  it('throws VaultCasConflictError, writing nothing, when another writer stored another key since', async () => {
    const p = path();
    put(p, { access_key: 'AKIAOTHER', secret_key: OLD_SECRET }, 'legacy');
    const error = await rejectionOf(
      v1.writeStoredKey(
        p,
        { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
        { version: 1, accessKeyId: 'AKIAOLD' },
      ),
    );
    expect(error.name).toBe('VaultCasConflictError');
    expect(error.message).not.toContain(SECRET);
    expect(legacy(p)?.data).toEqual({ access_key: 'AKIAOTHER', secret_key: OLD_SECRET });
  });

  it('throws VaultCasConflictError when a first value appeared since the path was read empty', async () => {
    const p = path();
    put(p, OLD, 'legacy');
    const error = await rejectionOf(
      v1.writeStoredKey(
        p,
        { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
        { version: 0, accessKeyId: null },
      ),
    );
    expect(error.name).toBe('VaultCasConflictError');
    expect(legacy(p)?.data).toEqual(OLD);
  });

  it('restores data exactly and deletes the current value', async () => {
    const p = path();
    const previous = { ...OLD, owner: 'team-a' };
    put(p, { access_key: 'AKIANEW', secret_key: SECRET }, 'legacy');
    await expect(v1.restoreStoredData(p, previous, { version: 1, accessKeyId: 'AKIANEW' })).resolves.toBe(1);
    expect(legacy(p)?.data).toEqual(previous);
    await v1.deleteCurrentVersion(p);
    expect(legacy(p)).toBeUndefined();
  });

  it('records no rotation metadata', async () => {
    const p = path();
    put(p, OLD, 'legacy');
    await expect(v1.describeRotation(p, { rotated_by: 'exec-1' })).resolves.toBeUndefined();
    expect(legacy(p)).toEqual({ data: OLD, metadata: null });
  });
});
