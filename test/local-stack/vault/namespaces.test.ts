import { describe, expect, it } from 'vitest';
import { useVault, vaultClient } from './helpers.js';

describe('namespaces', () => {
  const vault = useVault();

  it('keeps mounts, data and tokens of each namespace apart', async () => {
    vault().createNamespace('team-a');
    vault().createNamespace('team-b');
    vault().enableKv('secret', 2, 'team-a');
    vault().enableKv('secret', 2, 'team-b');
    const tokenA = vault().createToken({ policies: ['root'], namespace: 'team-a' });
    const tokenB = vault().createToken({ policies: ['root'], namespace: 'team-b' });
    const a = vaultClient(vault(), { token: tokenA, namespace: 'team-a' });
    const b = vaultClient(vault(), { token: tokenB, namespace: 'team-b' });

    expect((await a.post('secret/data/shared', { data: { owner: 'a' } })).status).toBe(200);
    expect((await b.get('secret/data/shared')).status).toBe(404);
    expect(vault().readSecret('secret', 'shared', 'team-a')?.data).toEqual({ owner: 'a' });
    expect(vault().readSecret('secret', 'shared')).toBeUndefined();
  });

  it('rejects a token issued in another namespace', async () => {
    vault().createNamespace('team-c');
    const tokenC = vault().createToken({ policies: ['root'], namespace: 'team-c' });
    const res = await vaultClient(vault(), { token: tokenC, namespace: 'team-a' }).get(
      'auth/token/lookup-self',
    );
    expect(res.status).toBe(403);
    expect((await vaultClient(vault(), { token: tokenC }).get('auth/token/lookup-self')).status).toBe(403);
  });

  it('accepts the namespace as a path prefix instead of the header', async () => {
    const token = vault().createToken({ policies: ['root'], namespace: 'team-a' });
    const res = await vaultClient(vault(), { token }).get('team-a/secret/data/shared');
    expect(res.data.data.data).toEqual({ owner: 'a' });
  });

  it('lets a root-namespace token reach a child namespace through policies written with its path', async () => {
    vault().putPolicy('child-reader', 'path "team-a/secret/data/*" { capabilities = ["read"] }');
    const token = vault().createToken({ policies: ['child-reader'] });
    const client = vaultClient(vault(), { token, namespace: 'team-a' });
    expect((await client.get('secret/data/shared')).status).toBe(200);
    expect((await client.post('secret/data/shared', { data: { v: 1 } })).status).toBe(403);
  });

  it('looks policies up in the token’s own namespace', async () => {
    vault().putPolicy('only-here', 'path "secret/data/*" { capabilities = ["read"] }', 'team-b');
    const token = vault().createToken({ policies: ['only-here'], namespace: 'team-b' });
    const res = await vaultClient(vault(), { token, namespace: 'team-b' }).get('secret/data/missing');
    expect(res.status).toBe(404);
  });
});
