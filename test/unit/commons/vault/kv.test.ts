import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../../functions/commons/config.js';
import { VaultClient } from '../../../../functions/commons/vault/client.js';
import { KvV2 } from '../../../../functions/commons/vault/kv.js';
import type { VaultEmulator } from '../../../../local-stack/vault/index.js';
import { rejectionOf, startVault } from '../../support.js';

let vault: VaultEmulator;
let kv: KvV2;
let counter = 0;
const uniquePath = () => `apps/kv-${(counter += 1)}`;

beforeAll(async () => {
  vault = await startVault();
  vault.enableKv('legacy', 1);
  const settings: Config['vault'] = {
    addr: vault.addr,
    namespace: undefined,
    mount: 'secret',
    pathPrefix: '',
    timeoutMs: 2_000,
    auth: { method: 'token', source: { kind: 'env', token: vault.rootToken } },
  };
  kv = new KvV2(new VaultClient(settings), 'secret');
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
    const legacy = new KvV2(
      new VaultClient({
        addr: vault.addr,
        namespace: undefined,
        mount: 'legacy',
        pathPrefix: '',
        timeoutMs: 2_000,
        auth: { method: 'token', source: { kind: 'env', token: vault.rootToken } },
      }),
      'legacy',
    );
    const error = await rejectionOf(legacy.read('app'));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain('legacy/data/app');
  });
});

describe('KvV2.write', () => {
  it('creates the first version with cas 0', async () => {
    const path = uniquePath();
    await expect(kv.write(path, { a: '1' }, 0)).resolves.toBe(1);
    expect(vault.readSecret('secret', path)?.data).toEqual({ a: '1' });
  });

  it('writes the next version when cas is the current version', async () => {
    const path = uniquePath();
    vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
    await expect(kv.write(path, { a: '2' }, 1)).resolves.toBe(2);
  });

  it.each([0, 2])(
    'throws VaultCasConflictError and writes nothing when cas is %i but the version is 1',
    async (cas) => {
      const path = uniquePath();
      vault.writeSecret({ mount: 'secret', path, data: { a: '1' } });
      const error = await rejectionOf(kv.write(path, { a: 'new-value' }, cas));
      expect(error.name).toBe('VaultCasConflictError');
      expect(error.message).not.toContain('new-value');
      expect(vault.readSecret('secret', path)).toMatchObject({ data: { a: '1' }, metadata: { version: 1 } });
    },
  );

  it('throws VaultDataError when Vault answers without a version', async () => {
    const legacy = new KvV2(
      new VaultClient({
        addr: vault.addr,
        namespace: undefined,
        mount: 'legacy',
        pathPrefix: '',
        timeoutMs: 2_000,
        auth: { method: 'token', source: { kind: 'env', token: vault.rootToken } },
      }),
      'legacy',
    );
    expect((await rejectionOf(legacy.write('x', { a: '1' }, 0))).name).toBe('VaultDataError');
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
