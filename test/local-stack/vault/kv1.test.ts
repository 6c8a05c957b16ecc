import { describe, expect, it } from 'vitest';
import { useVault, vaultClient } from './helpers.js';

describe('KV v1 mounts', () => {
  const vault = useVault();
  const root = () => vaultClient(vault(), { token: vault().rootToken });

  it('stores the request body as the secret and reads it back with the 768h lease hint', async () => {
    vault().enableKv('kv', 1);
    expect((await root().put('kv/app/key', { AccessKeyId: 'AKIA1' })).status).toBe(204);
    const res = await root().get('kv/app/key');
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({
      data: { AccessKeyId: 'AKIA1' },
      lease_duration: 2764800,
      mount_type: 'kv',
    });
  });

  it('overwrites without versions, lists, and deletes', async () => {
    vault().enableKv('kv1b', 1);
    await root().post('kv1b/team/one', { v: 1 });
    await root().post('kv1b/team/one', { v: 2 });
    await root().post('kv1b/team/nested/two', { v: 3 });
    expect((await root().get('kv1b/team/one')).data.data).toEqual({ v: 2 });
    expect((await root().get('kv1b/team', { params: { list: 'true' } })).data.data.keys).toEqual([
      'nested/',
      'one',
    ]);
    expect((await root().delete('kv1b/team/one')).status).toBe(204);
    expect((await root().get('kv1b/team/one')).status).toBe(404);
  });

  it('refuses to store an empty secret', async () => {
    vault().enableKv('kv1c', 1);
    const res = await root().put('kv1c/empty', {});
    expect(res.status).toBe(400);
  });
});
