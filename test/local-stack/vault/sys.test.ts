import { describe, expect, it } from 'vitest';
import { useVault, vaultClient } from './helpers.js';

describe('sys endpoints', () => {
  const vault = useVault();
  const root = () => vaultClient(vault(), { token: vault().rootToken });

  describe('health and seal', () => {
    it('reports an active, unsealed server with 200 on sys/health', async () => {
      const res = await vaultClient(vault()).get('sys/health');
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({ initialized: true, sealed: false, standby: false });
      expect(typeof res.data.version).toBe('string');
    });

    it('answers every other path with 503 Vault is sealed while sealed, and health with 503', async () => {
      vault().seal();
      try {
        const read = await root().get('secret/data/x');
        expect(read.status).toBe(503);
        expect(read.data).toEqual({ errors: ['Vault is sealed'] });
        expect((await vaultClient(vault()).get('sys/health')).status).toBe(503);
        expect((await vaultClient(vault()).get('sys/health', { params: { sealedcode: 200 } })).status).toBe(
          200,
        );
        const status = await vaultClient(vault()).get('sys/seal-status');
        expect(status.status).toBe(200);
        expect(status.data).toMatchObject({ sealed: true, type: 'shamir', t: 1, n: 1 });
      } finally {
        vault().unseal();
      }
      expect((await root().get('sys/seal-status')).data.sealed).toBe(false);
    });
  });

  describe('sys/internal/ui/mounts', () => {
    it('returns the kv mount holding a path with its version option', async () => {
      vault().enableKv('legacy', 1);
      const v2 = await root().get('sys/internal/ui/mounts/secret/app/key');
      expect(v2.status).toBe(200);
      expect(v2.data.data).toMatchObject({ path: 'secret/', type: 'kv', options: { version: '2' } });
      const v1 = await root().get('sys/internal/ui/mounts/legacy/x');
      expect(v1.data.data).toMatchObject({ path: 'legacy/', type: 'kv', options: { version: '1' } });
    });

    it('allows a token with any capability under the mount and gives others the preflight 403', async () => {
      vault().putPolicy('deep', 'path "secret/data/team/app/*" { capabilities = ["read"] }');
      const allowed = vaultClient(vault(), { token: vault().createToken({ policies: ['deep'] }) });
      const denied = vaultClient(vault(), { token: vault().createToken({ policies: ['default'] }) });
      expect((await allowed.get('sys/internal/ui/mounts/secret/team/app/key')).status).toBe(200);
      const res = await denied.get('sys/internal/ui/mounts/secret/team/app/key');
      expect(res.status).toBe(403);
      expect(res.data.errors).toEqual([
        'preflight capability check returned 403, please ensure client\'s policies grant access to path "secret/team/app/key/"',
      ]);
    });

    it('answers a path under no mount with the same 403, so mounts cannot be probed', async () => {
      expect((await root().get('sys/internal/ui/mounts/nowhere/x')).status).toBe(403);
    });
  });

  describe('sys/mounts', () => {
    it('enables a KV v2 mount and lists it with its options', async () => {
      const enable = await root().post('sys/mounts/team-kv', { type: 'kv', options: { version: '2' } });
      expect(enable.status).toBe(204);
      const list = await root().get('sys/mounts');
      expect(list.data.data['team-kv/']).toMatchObject({ type: 'kv', options: { version: '2' } });
      expect(list.data.data['secret/']).toMatchObject({ type: 'kv' });
      expect((await root().post('team-kv/data/x', { data: { v: 1 } })).status).toBe(200);
    });

    it('refuses a path already in use and engines it does not emulate', async () => {
      const again = await root().post('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
      expect(again.status).toBe(400);
      expect(again.data.errors).toEqual(['path is already in use at secret/']);
      expect((await root().post('sys/mounts/pki', { type: 'pki' })).status).toBe(400);
    });

    it('answers an unknown path with 404 for root and 403 for other tokens', async () => {
      expect((await root().get('nomount/x')).status).toBe(404);
      const other = vaultClient(vault(), { token: vault().createToken({ policies: ['default'] }) });
      expect((await other.get('nomount/x')).status).toBe(403);
    });

    it('answers a method a path does not support with 405', async () => {
      const res = await root().delete('sys/mounts');
      expect(res.status).toBe(405);
      expect(res.data).toEqual({ errors: ['unsupported operation'] });
    });
  });
});
