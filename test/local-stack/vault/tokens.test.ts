import { afterEach, describe, expect, it, vi } from 'vitest';
import { useVault, vaultClient } from './helpers.js';

describe('token auth', () => {
  const vault = useVault();
  const root = () => vaultClient(vault(), { token: vault().rootToken });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('issues a root token shaped like a Vault service token', () => {
    expect(vault().rootToken).toMatch(/^hvs\.[A-Za-z0-9]{24}$/);
  });

  it('creates a child token with the requested policies and TTL', async () => {
    const res = await root().post('auth/token/create', { policies: ['reader'], ttl: '1h' });
    expect(res.status).toBe(200);
    expect(res.data.data).toBeNull();
    expect(res.data.auth).toMatchObject({
      policies: ['default', 'reader'],
      token_policies: ['default', 'reader'],
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
    });
    expect(res.data.auth.client_token).toMatch(/^hvs\./);
  });

  it('describes the calling token with lookup-self', async () => {
    const token = vault().createToken({ policies: ['reader'], ttlSeconds: 600 });
    const res = await vaultClient(vault(), { token }).get('auth/token/lookup-self');
    expect(res.status).toBe(200);
    expect(res.data.data).toMatchObject({
      id: token,
      policies: ['default', 'reader'],
      creation_ttl: 600,
      type: 'service',
    });
    expect(res.data.data.ttl).toBeGreaterThan(590);
  });

  it('accepts the token as an Authorization bearer header too', async () => {
    const res = await vaultClient(vault()).get('auth/token/lookup-self', {
      headers: { Authorization: `Bearer ${vault().rootToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.data.data.policies).toEqual(['root']);
  });

  it('answers an expired token with 403 permission denied and invalid token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const token = vault().createToken({ policies: ['default'], ttlSeconds: 5 });
    const client = vaultClient(vault(), { token });
    expect((await client.get('auth/token/lookup-self')).status).toBe(200);
    vi.setSystemTime(Date.now() + 6_000);
    const res = await client.get('auth/token/lookup-self');
    expect(res.status).toBe(403);
    expect(res.data).toEqual({ errors: ['permission denied', 'invalid token'] });
  });

  it('never expires the root token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 365 * 24 * 3600 * 1000);
    expect((await root().get('auth/token/lookup-self')).status).toBe(200);
  });

  it('answers a request without a token with 403 permission denied', async () => {
    const res = await vaultClient(vault()).get('secret/data/anything');
    expect(res.status).toBe(403);
    expect(res.data).toEqual({ errors: ['permission denied'] });
  });

  it('extends the TTL on renew-self and forgets the token on revoke-self', async () => {
    const token = vault().createToken({ policies: ['default'], ttlSeconds: 60 });
    const client = vaultClient(vault(), { token });
    const renewed = await client.post('auth/token/renew-self', { increment: '2h' });
    expect(renewed.data.auth.lease_duration).toBe(7200);
    expect((await client.post('auth/token/revoke-self')).status).toBe(204);
    expect((await client.get('auth/token/lookup-self')).status).toBe(403);
  });

  it('refuses to let a non-root token hand out policies it does not hold', async () => {
    const token = vault().createToken({ policies: ['minter'] });
    vault().putPolicy('minter', 'path "auth/token/create" { capabilities = ["update"] }');
    const res = await vaultClient(vault(), { token }).post('auth/token/create', { policies: ['admin'] });
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual(['child policies must be subset of parent']);
  });
});
