import { readSecretSource } from '../../../../functions/commons/secret-source.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultConfig } from '../../../../functions/commons/vault/config.js';
import { VaultClient } from '../../../../functions/commons/vault/client.js';
import { detectKvVersion, type Expected, KvV1, KvV2 } from '../../../../functions/commons/vault/kv.js';
import type { VaultEmulator } from '../../../../local-stack/vault/index.js';
import { rejectionOf, startVault, vaultSettings } from '../../support.js';

let vault: VaultEmulator;
let kv: KvV2;
let counter = 0;
const uniquePath = () => `apps/kv-${(counter += 1)}`;

const client = (extra: Partial<VaultConfig> = {}, token = vault.rootToken) =>
  new VaultClient(vaultSettings(vault.addr, token, extra), readSecretSource);

/** How many requests the emulator has served. */
const vaultCalls = () => Object.values(vault.traffic.calls()).reduce((sum, n) => sum + n, 0);

/** What a KV v2 write checks: the version only. */
const cas = (version: number): Expected => ({ version, matches: () => true });

beforeAll(async () => {
  vault = await startVault();
  vault.enableKv('legacy', 1);
  kv = new KvV2(client(), 'secret');
});

afterAll(async () => {
  await vault.close();
});

describe('KvV2.read', () => {
  it('returns null for a path never written', async () => {
    await expect(kv.read(uniquePath())).resolves.toBeNull();
  });

  it('returns the current version and its data', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    vault.writeSecret({ mount: 'secret', path, data: { a: '2' } });
    await expect(kv.read(path)).resolves.toEqual({ version: 2, data: { a: '2' } });
  });

  it('returns a given version', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    vault.writeSecret({ mount: 'secret', path, data: { a: '2' } });
    await expect(kv.read(path, 1)).resolves.toEqual({ version: 1, data: { a: '1' } });
  });

  it('returns null for a version that does not exist', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    await expect(kv.read(path, 7)).resolves.toBeNull();
  });

  it('returns the version with null data when the current version is deleted', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    await kv.deleteCurrent(path);
    await expect(kv.read(path)).resolves.toEqual({ version: 1, data: null });
  });

  it('encodes each path segment but keeps the slashes', async () => {
    const path = `${uniquePath()}/user+name=x,y@corp`;
    vault.writeSecret({ mount: 'secret', path, data: { a: 'encoded' } });
    await expect(kv.read(path)).resolves.toEqual({ version: 1, data: { a: 'encoded' } });
  });

  it('throws VaultDataError when the mount is not KV v2', async () => {
    vault.writeSecret({ mount: 'legacy', path: 'data/app', data: { a: '1' } });
    const legacy = new KvV2(client({ mount: 'legacy' }), 'legacy');
    const error = await rejectionOf(legacy.read('app'));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain('legacy/data/app');
  });

  it('throws VaultDataError naming the mount when nothing is mounted there', async () => {
    const error = await rejectionOf(new KvV2(client(), 'nowhere').read('app'));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain('no KV engine at nowhere/');
    expect(error.message).toContain('no handler for route');
  });
});

describe('KvV2.write', () => {
  it('creates the first version with cas 0', async () => {
    const path = uniquePath();
    await expect(kv.write(path, { a: '1' }, cas(0))).resolves.toBe(1);
    expect(vault.readSecret('secret', path)?.data).toEqual({ a: '1' });
  });

  it('writes the next version when cas is the current version', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    await expect(kv.write(path, { a: '2' }, cas(1))).resolves.toBe(2);
  });

  it.each([0, 2])(
    'throws VaultCasConflictError and writes nothing when cas is %i but the version is 1',
    async (version) => {
      const path = uniquePath();
      vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
      const error = await rejectionOf(kv.write(path, { a: 'new-value' }, cas(version)));
      expect(error.name).toBe('VaultCasConflictError');
      expect(error.message).not.toContain('new-value');
      expect(vault.readSecret('secret', path)).toMatchObject({ data: { a: '1' }, metadata: { version: 1 } });
    },
  );

  it('throws VaultDataError when Vault answers without a version', async () => {
    const legacy = new KvV2(client({ mount: 'legacy' }), 'legacy');
    expect((await rejectionOf(legacy.write('x', { a: '1' }, cas(0)))).name).toBe('VaultDataError');
  });

  it('sends the expected version as cas and ignores the data test, which is for KV v1', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    await expect(kv.write(path, { a: '2' }, { version: 1, matches: () => false })).resolves.toBe(2);
  });
});

describe('KvV2.setCustomMetadata', () => {
  it('replaces the custom metadata without writing a version', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' }, customMetadata: { old: 'x' } });
    await kv.setCustomMetadata(path, { rotated_by: 'exec-1' });
    expect(vault.readSecret('secret', path)?.metadata).toMatchObject({
      version: 1,
      custom_metadata: { rotated_by: 'exec-1' },
    });
  });
});

describe('KvV2.deleteCurrent', () => {
  it('soft-deletes only the current version', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    vault.writeSecret({ mount: 'secret', path, data: { a: '2' } });
    await kv.deleteCurrent(path);
    expect(vault.readSecret('secret', path)).toMatchObject({ data: null, metadata: { version: 2 } });
    await expect(kv.read(path, 1)).resolves.toEqual({ version: 1, data: { a: '1' } });
  });

  it('is a no-op for a path never written', async () => {
    await expect(kv.deleteCurrent(uniquePath())).resolves.toBeUndefined();
  });
});

describe('KvV1', () => {
  let v1: KvV1;
  const holds = (accessKeyId: string | null): Expected => ({
    version: accessKeyId === null ? 0 : 1,
    matches: (data) => (data?.['access_key'] ?? null) === accessKeyId,
  });

  beforeAll(() => {
    v1 = new KvV1(client({ mount: 'legacy' }), 'legacy');
  });

  it('is version 1', () => {
    expect(v1.version).toBe(1);
  });

  describe('read', () => {
    it('returns null for a path never written', async () => {
      await expect(v1.read(uniquePath())).resolves.toBeNull();
    });

    it('returns the value as version 1', async () => {
      const path = uniquePath();
      vault.writeSecret({ mount: 'legacy', path, data: { access_key: 'AKIA1', owner: 'team-a' } });
      await expect(v1.read(path)).resolves.toEqual({
        version: 1,
        data: { access_key: 'AKIA1', owner: 'team-a' },
      });
      await expect(v1.read(path, 1)).resolves.toEqual({
        version: 1,
        data: { access_key: 'AKIA1', owner: 'team-a' },
      });
    });

    it('returns null for any other version, without asking Vault', async () => {
      const path = uniquePath();
      vault.writeSecret({ mount: 'legacy', path, data: { a: '1' } });
      const before = vaultCalls();
      await expect(v1.read(path, 2)).resolves.toBeNull();
      expect(vaultCalls()).toBe(before);
    });

    it('encodes each path segment but keeps the slashes', async () => {
      const path = `${uniquePath()}/user+name=x,y@corp`;
      vault.writeSecret({ mount: 'legacy', path, data: { a: 'encoded' } });
      await expect(v1.read(path)).resolves.toEqual({ version: 1, data: { a: 'encoded' } });
    });

    it('throws VaultDataError naming the mount when nothing is mounted there', async () => {
      const error = await rejectionOf(new KvV1(client(), 'nowhere').read('app'));
      expect(error.name).toBe('VaultDataError');
      expect(error.message).toContain('no KV engine at nowhere/');
    });
  });

  describe('write', () => {
    it('writes a first value when the path is empty and returns 1', async () => {
      const path = uniquePath();
      await expect(v1.write(path, { access_key: 'AKIANEW', secret_key: 's' }, holds(null))).resolves.toBe(1);
      expect(vault.readSecret('legacy', path)).toEqual({
        data: { access_key: 'AKIANEW', secret_key: 's' },
        metadata: null,
      });
    });

    it('replaces the value when the path still holds what was read', async () => {
      const path = uniquePath();
      vault.writeSecret({ mount: 'legacy', path, data: { access_key: 'AKIAOLD', secret_key: 'old' } });
      await expect(
        v1.write(path, { access_key: 'AKIANEW', secret_key: 'new' }, holds('AKIAOLD')),
      ).resolves.toBe(1);
      expect(vault.readSecret('legacy', path)?.data).toEqual({ access_key: 'AKIANEW', secret_key: 'new' });
    });

    it.each([
      ['another key', 'AKIAOTHER'],
      ['nothing', null],
    ])(
      'throws VaultCasConflictError and writes nothing when the path holds %s instead of what was read',
      async (_what, found) => {
        const path = uniquePath();
        if (found !== null)
          vault.writeSecret({ mount: 'legacy', path, data: { access_key: found, secret_key: 'x' } });
        const error = await rejectionOf(
          v1.write(path, { access_key: 'AKIANEW', secret_key: 'new-secret-value' }, holds('AKIAOLD')),
        );
        expect(error.name).toBe('VaultCasConflictError');
        expect(error.message).toContain('another writer');
        expect(error.message).not.toContain('new-secret-value');
        expect(vault.readSecret('legacy', path)?.data ?? null).toEqual(
          found === null ? null : { access_key: found, secret_key: 'x' },
        );
      },
    );

    it('throws VaultCasConflictError when another writer replaces the value right after the write', async () => {
      const path = uniquePath();
      /** A client after whose writes a concurrent writer stores its own value. */
      class RacedClient extends VaultClient {
        override async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, data?: unknown) {
          const answer = await super.request<T>(method, url, data);
          if (method === 'POST')
            vault.writeSecret({ mount: 'legacy', path, data: { access_key: 'AKIARACER' } });
          return answer;
        }
      }
      const raced = new KvV1(
        new RacedClient(vaultSettings(vault.addr, vault.rootToken), readSecretSource),
        'legacy',
      );
      const error = await rejectionOf(
        raced.write(path, { access_key: 'AKIANEW', secret_key: 'new' }, holds(null)),
      );
      expect(error.name).toBe('VaultCasConflictError');
      expect(vault.readSecret('legacy', path)?.data).toEqual({ access_key: 'AKIARACER' });
    });
  });

  describe('deleteCurrent', () => {
    it('deletes the value', async () => {
      const path = uniquePath();
      vault.writeSecret({ mount: 'legacy', path, data: { a: '1' } });
      await v1.deleteCurrent(path);
      expect(vault.readSecret('legacy', path)).toBeUndefined();
      await expect(v1.read(path)).resolves.toBeNull();
    });

    it('is a no-op for a path never written', async () => {
      await expect(v1.deleteCurrent(uniquePath())).resolves.toBeUndefined();
    });
  });

  it('keeps no custom metadata and sends nothing for it', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'legacy', path, data: { a: '1' } });
    const before = vaultCalls();
    await expect(v1.setCustomMetadata()).resolves.toBeUndefined();
    expect(vaultCalls()).toBe(before);
    expect(vault.readSecret('legacy', path)).toEqual({ data: { a: '1' }, metadata: null });
  });
});

describe('detectKvVersion', () => {
  beforeAll(() => {
    vault.enableKv('kv/teams', 1);
    vault.createNamespace('team-a');
    vault.enableKv('kv', 2, 'team-a');
  });

  it.each([
    ['secret', 2],
    ['legacy', 1],
    ['kv/teams', 1],
  ] as const)('answers the version of mount %s', async (mount, version) => {
    await expect(detectKvVersion(client(), mount)).resolves.toBe(version);
  });

  it('asks within the configured namespace', async () => {
    await expect(detectKvVersion(client({ namespace: 'team-a' }), 'kv')).resolves.toBe(2);
  });

  it('needs no more than access to paths under the mount', async () => {
    vault.putPolicy('legacy-reader', 'path "legacy/aws/*" { capabilities = ["read"] }');
    const token = vault.createToken({ policies: ['legacy-reader'] });
    await expect(detectKvVersion(client({}, token), 'legacy')).resolves.toBe(1);
  });

  it('throws ConfigurationError naming VAULT_KV_VERSION when Vault answers 403', async () => {
    vault.putPolicy('elsewhere', 'path "other/*" { capabilities = ["read"] }');
    const token = vault.createToken({ policies: ['elsewhere'] });
    const error = await rejectionOf(detectKvVersion(client({}, token), 'secret'));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('VAULT_KV_VERSION');
    expect(error.message).toContain('secret/');
  });

  it('throws ConfigurationError for a mount that does not exist (Vault answers it with 403)', async () => {
    const error = await rejectionOf(detectKvVersion(client(), 'nowhere'));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('VAULT_KV_VERSION');
  });

  it('throws VaultUnavailableError while Vault is sealed', async () => {
    vault.seal();
    try {
      expect((await rejectionOf(detectKvVersion(client(), 'secret'))).name).toBe('VaultUnavailableError');
    } finally {
      vault.unseal();
    }
  });

  it.each([
    ['another engine', { data: { type: 'transit', options: null } }],
    ['an unexpected body', { data: {} }],
  ])('throws ConfigurationError when the mount runs %s', async (_what, body) => {
    class Answering extends VaultClient {
      override request<T>(): Promise<T> {
        return Promise.resolve(body as T);
      }
    }
    const error = await rejectionOf(
      detectKvVersion(new Answering(vaultSettings(vault.addr, ''), readSecretSource), 'transit'),
    );
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe('Vault has no KV engine at transit/');
  });

  it.each([
    [{ version: '1' }, 1],
    [null, 1],
    [undefined, 1],
    [{ version: '2' }, 2],
  ])('reads options %j as version %i', async (options, version) => {
    class Answering extends VaultClient {
      override request<T>(): Promise<T> {
        return Promise.resolve({ data: { type: 'kv', ...(options === undefined ? {} : { options }) } } as T);
      }
    }
    await expect(
      detectKvVersion(new Answering(vaultSettings(vault.addr, ''), readSecretSource), 'kv'),
    ).resolves.toBe(version);
  });
});
