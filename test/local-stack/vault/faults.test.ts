import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { startVaultEmulator } from '../../../local-stack/vault/index.js';
import { uniquePath, useVault, vaultClient } from './helpers.js';

describe('fault injection', () => {
  const vault = useVault();
  const root = () => vaultClient(vault(), { token: vault().rootToken });

  it('answers an injected status with Vault’s error body once, then serves normally', async () => {
    const path = uniquePath();
    vault().writeSecret({ mount: 'secret', path, data: { v: 1 } });
    vault().traffic.addFault('vault:kv-read:503');
    const faulted = await root().get(`secret/data/${path}`);
    expect(faulted.status).toBe(503);
    expect(faulted.data).toEqual({ errors: ['Vault is sealed'] });
    expect((await root().get(`secret/data/${path}`)).status).toBe(200);
  });

  it('maps 403, 429 and 500 faults to Vault-like messages', async () => {
    vault().traffic.addFault('vault:health:403');
    vault().traffic.addFault('vault:mounts:429');
    vault().traffic.addFault('vault:token:500');
    expect((await root().get('sys/health')).data).toEqual({ errors: ['permission denied'] });
    expect((await root().get('sys/internal/ui/mounts/secret/x')).status).toBe(429);
    const internal = await root().get('auth/token/lookup-self');
    expect(internal.status).toBe(500);
    expect(internal.data.errors).toEqual(['internal error']);
  });

  it('answers an injected code with 400 and skips the write', async () => {
    const path = uniquePath();
    vault().traffic.addFault('vault:kv-write:InvalidRequest');
    const res = await root().post(`secret/data/${path}`, { data: { v: 1 } });
    expect(res.status).toBe(400);
    expect(res.data).toEqual({ errors: ['InvalidRequest'] });
    expect(vault().readSecret('secret', path)).toBeUndefined();
  });

  it('drops the connection without writing on reset', async () => {
    const path = uniquePath();
    vault().traffic.addFault('vault:kv-write:reset');
    await expect(root().post(`secret/data/${path}`, { data: { v: 1 } })).rejects.toThrow();
    expect(vault().readSecret('secret', path)).toBeUndefined();
  });

  it('writes, then drops the connection, on after-commit', async () => {
    const path = uniquePath();
    vault().traffic.addFault('vault:kv-write:after-commit');
    await expect(root().post(`secret/data/${path}`, { data: { v: 1 } })).rejects.toThrow();
    expect(vault().readSecret('secret', path)?.data).toEqual({ v: 1 });
  });

  it('applies a fault from the nth matching call for count calls', async () => {
    vault().traffic.addFault('vault:login:500x2@2');
    const login = () => vaultClient(vault()).post('auth/approle/login', { role_id: 'x' });
    expect((await login()).status).toBe(400);
    expect((await login()).status).toBe(500);
    expect((await login()).status).toBe(500);
    expect((await login()).status).toBe(400);
  });

  it('counts each operation under its Vault operation name', async () => {
    vault().traffic.resetCalls();
    const path = uniquePath();
    await root().post(`secret/data/${path}`, { data: { v: 1 } });
    await root().get(`secret/data/${path}`);
    await root().get(`secret/metadata/${path}`);
    await root().delete(`secret/data/${path}`);
    await root().get('sys/seal-status');
    await root().get('sys/mounts');
    expect(vault().traffic.calls()).toEqual({
      'vault:health': 1,
      'vault:kv-delete': 1,
      'vault:kv-metadata': 1,
      'vault:kv-read': 1,
      'vault:kv-write': 1,
      'vault:sys': 1,
    });
  });

  it('never answers on timeout, and close() still ends promptly', async () => {
    const held = await startVaultEmulator({ stsEndpoint: 'http://127.0.0.1:9' });
    held.traffic.addFault('vault:health:timeout');
    const request = axios.get(`${held.addr}/v1/sys/health`, { timeout: 200 });
    await expect(request).rejects.toMatchObject({ code: 'ECONNABORTED' });
    const hanging = axios.get(`${held.addr}/v1/sys/health`).catch((error: unknown) => error);
    held.traffic.addFault('vault:health:timeout');
    const started = Date.now();
    await held.close();
    await hanging;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
