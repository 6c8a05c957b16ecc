import { describe, expect, it } from 'vitest';
import { useVault, vaultClient } from './helpers.js';

describe('AppRole auth', () => {
  const vault = useVault();
  const root = () => vaultClient(vault(), { token: vault().rootToken });

  async function credentials(role: string, settings: Record<string, unknown> = {}) {
    expect(
      (
        await root().post(`auth/approle/role/${role}`, {
          token_policies: ['rotator'],
          token_ttl: '20m',
          ...settings,
        })
      ).status,
    ).toBe(204);
    const roleId = (await root().get(`auth/approle/role/${role}/role-id`)).data.data.role_id as string;
    const secret = await root().post(`auth/approle/role/${role}/secret-id`);
    expect(secret.data.data).toMatchObject({
      secret_id: expect.any(String),
      secret_id_accessor: expect.any(String),
    });
    return { roleId, secretId: secret.data.data.secret_id as string };
  }

  it('logs in with role_id and secret_id and returns a token carrying the role’s policies', async () => {
    const { roleId, secretId } = await credentials('rotator');
    const res = await vaultClient(vault()).post('auth/approle/login', {
      role_id: roleId,
      secret_id: secretId,
    });
    expect(res.status).toBe(200);
    expect(res.data.auth).toMatchObject({
      policies: ['default', 'rotator'],
      token_policies: ['default', 'rotator'],
      lease_duration: 1200,
      renewable: true,
      metadata: { role_name: 'rotator' },
    });
    const lookup = await vaultClient(vault(), { token: res.data.auth.client_token }).get(
      'auth/token/lookup-self',
    );
    expect(lookup.data.data.policies).toEqual(['default', 'rotator']);
  });

  it('refuses a wrong secret_id and an unknown role_id with the same message', async () => {
    const { roleId } = await credentials('guarded');
    const wrong = await vaultClient(vault()).post('auth/approle/login', {
      role_id: roleId,
      secret_id: 'nope',
    });
    const unknown = await vaultClient(vault()).post('auth/approle/login', {
      role_id: 'nope',
      secret_id: 'nope',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.data.errors).toEqual(['invalid role or secret ID']);
    expect(unknown.data.errors).toEqual(['invalid role or secret ID']);
  });

  it('spends a secret_id limited to one use', async () => {
    const { roleId, secretId } = await credentials('once', { secret_id_num_uses: 1 });
    expect(
      (await vaultClient(vault()).post('auth/approle/login', { role_id: roleId, secret_id: secretId }))
        .status,
    ).toBe(200);
    expect(
      (await vaultClient(vault()).post('auth/approle/login', { role_id: roleId, secret_id: secretId }))
        .status,
    ).toBe(400);
  });

  it('requires role_id', async () => {
    const res = await vaultClient(vault()).post('auth/approle/login', {});
    expect(res.data.errors).toEqual(['missing role_id']);
  });
});
