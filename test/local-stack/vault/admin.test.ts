import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { useVault, vaultClient } from './helpers.js';

describe('admin API', () => {
  const vault = useVault();
  const admin = () => axios.create({ baseURL: `${vault().addr}/__admin/`, validateStatus: () => true });

  it('creates a namespace, a mount, a policy, a token and a secret that the Vault API then serves', async () => {
    expect((await admin().post('namespaces', { name: 'ops' })).status).toBe(200);
    expect((await admin().post('mounts', { namespace: 'ops', path: 'kv', version: 1 })).status).toBe(200);
    const hcl = 'path "kv/*" { capabilities = ["read"] }';
    expect((await admin().post('policies', { namespace: 'ops', name: 'kv-reader', hcl })).status).toBe(200);
    const seeded = await admin().post('secrets', {
      namespace: 'ops',
      mount: 'kv',
      path: 'db',
      data: { password: 'p' },
    });
    expect(seeded.data).toEqual({ version: null });
    const { token } = (
      await admin().post('tokens', { namespace: 'ops', policies: ['kv-reader'], ttlSeconds: 60 })
    ).data;

    const res = await vaultClient(vault(), { token, namespace: 'ops' }).get('kv/db');
    expect(res.data.data).toEqual({ password: 'p' });
  });

  it('seeds KV v2 versions with custom metadata', async () => {
    const first = await admin().post('secrets', {
      mount: 'secret',
      path: 'seeded',
      data: { v: 1 },
      customMetadata: { o: 'x' },
    });
    const second = await admin().post('secrets', { mount: 'secret', path: 'seeded', data: { v: 2 } });
    expect([first.data.version, second.data.version]).toEqual([1, 2]);
    expect(vault().readSecret('secret', 'seeded')).toEqual({
      data: { v: 2 },
      metadata: expect.objectContaining({ version: 2, custom_metadata: { o: 'x' }, destroyed: false }),
    });
  });

  it('shows every namespace’s mounts, secrets, policies, roles and live tokens in the state', async () => {
    const state = (await admin().get('state')).data;
    expect(state.sealed).toBe(false);
    expect(state.namespaces.root.mounts['secret/']).toMatchObject({ type: 'kv', version: 2 });
    expect(state.namespaces.root.secrets['secret/seeded'].versions['2'].data).toEqual({ v: 2 });
    expect(state.namespaces.ops.secrets['kv/db'].data).toEqual({ password: 'p' });
    expect(state.namespaces.ops.policies['kv-reader']).toContain('kv/*');
    expect(state.namespaces.ops.live_tokens).toBe(1);
    expect(state.namespaces.root.live_tokens).toBe(1);
  });

  it('seals and unseals', async () => {
    await admin().post('seal');
    expect((await admin().get('state')).data.sealed).toBe(true);
    expect((await vaultClient(vault(), { token: vault().rootToken }).get('sys/mounts')).status).toBe(503);
    await admin().post('unseal');
    expect((await vaultClient(vault(), { token: vault().rootToken }).get('sys/mounts')).status).toBe(200);
  });

  it('arms and clears faults and reports call counts', async () => {
    await admin().delete('calls');
    const armed = await admin().post('faults', { specs: ['vault:health:500'] });
    expect(armed.data.faults).toHaveLength(1);
    expect((await vaultClient(vault()).get('sys/health')).status).toBe(500);
    expect((await admin().get('calls')).data).toEqual({ 'vault:health': 1 });
    await admin().post('faults', { spec: 'vault:health:500' });
    await admin().delete('faults');
    expect((await vaultClient(vault()).get('sys/health')).status).toBe(200);
  });

  it('answers bad bodies with 400 and the reason', async () => {
    const badMount = await admin().post('mounts', { path: 'x', version: 3 });
    expect(badMount.status).toBe(400);
    expect(badMount.data.errors[0]).toMatch(/^invalid request body: version/);
    const badFault = await admin().post('faults', { spec: 'vault:kv-read:fly' });
    expect(badFault.status).toBe(400);
    expect(badFault.data.errors[0]).toMatch(/invalid fault spec/);
    expect((await admin().post('secrets', { mount: 'nomount', path: 'p', data: {} })).status).toBe(400);
    expect((await admin().post('policies', { name: 'p', hcl: 'path {' })).status).toBe(400);
    expect((await admin().get('nothing')).status).toBe(404);
  });
});
