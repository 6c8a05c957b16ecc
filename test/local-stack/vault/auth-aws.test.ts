import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVaultEmulator } from '../../../local-stack/vault/index.js';
import type { VaultEmulator } from '../../../local-stack/vault/index.js';
import { awsLoginBody, CALLER_IDENTITY_BODY, errorXml, startFakeSts } from './fake-sts.js';
import type { FakeSts } from './fake-sts.js';
import { vaultClient } from './helpers.js';

const SERVER_ID = 'vault.example.com';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/rotator-role';
const ASSUMED = 'arn:aws:sts::123456789012:assumed-role/rotator-role/lambda-session';

describe('AWS IAM auth', () => {
  let sts: FakeSts;
  let vault: VaultEmulator;
  const root = () => vaultClient(vault, { token: vault.rootToken });
  const login = (body: Record<string, string>) => vaultClient(vault).post('auth/aws/login', body);

  beforeAll(async () => {
    sts = await startFakeSts();
    vault = await startVaultEmulator({ stsEndpoint: sts.endpoint });
    await root().post('auth/aws/config/client', { iam_server_id_header_value: SERVER_ID });
    await root().post('auth/aws/role/rotator', {
      auth_type: 'iam',
      bound_iam_principal_arn: [ROLE_ARN],
      token_policies: ['rotator'],
      token_ttl: '15m',
    });
    await root().post('auth/aws/role/ci', {
      auth_type: 'iam',
      bound_iam_principal_arn: 'arn:aws:iam::123456789012:user/ci-*',
      policies: 'ci',
    });
  });

  afterAll(async () => {
    await vault.close();
    await sts.close();
  });

  it('forwards the signed GetCallerIdentity to STS and maps an assumed role to its role ARN', async () => {
    sts.answer = { arn: ASSUMED, userId: 'AROAEXAMPLE:lambda-session' };
    const body = await awsLoginBody({ role: 'rotator', serverId: SERVER_ID });
    const res = await login(body);

    expect(res.status).toBe(200);
    expect(res.data.auth).toMatchObject({
      policies: ['default', 'rotator'],
      token_policies: ['default', 'rotator'],
      lease_duration: 900,
      renewable: true,
      metadata: {
        canonical_arn: ROLE_ARN,
        client_arn: ASSUMED,
        client_user_id: 'AROAEXAMPLE',
        auth_type: 'iam',
      },
    });
    const forwarded = sts.received.at(-1);
    const sentHeaders = JSON.parse(
      Buffer.from(body.iam_request_headers ?? '', 'base64').toString(),
    ) as Record<string, string[]>;
    expect(forwarded).toMatchObject({ method: 'POST', url: '/', body: CALLER_IDENTITY_BODY });
    expect(forwarded?.headers['host']).toBe('sts.amazonaws.com');
    expect(forwarded?.headers['authorization']).toBe(sentHeaders['authorization']?.[0]);
    expect(forwarded?.headers['x-vault-aws-iam-server-id']).toBe(SERVER_ID);

    const lookup = await vaultClient(vault, { token: res.data.auth.client_token }).get(
      'auth/token/lookup-self',
    );
    expect(lookup.data.data.policies).toEqual(['default', 'rotator']);
  });

  it('matches a bound ARN ending in * as a prefix', async () => {
    sts.answer = { arn: 'arn:aws:iam::123456789012:user/ci-runner', userId: 'AIDAEXAMPLE' };
    const res = await login(await awsLoginBody({ role: 'ci', serverId: SERVER_ID }));
    expect(res.status).toBe(200);
    expect(res.data.auth.policies).toEqual(['ci', 'default']);
  });

  it('refuses a principal outside bound_iam_principal_arn', async () => {
    sts.answer = { arn: 'arn:aws:sts::123456789012:assumed-role/intruder/s', userId: 'AROAOTHER:s' };
    const res = await login(await awsLoginBody({ role: 'rotator', serverId: SERVER_ID }));
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual([
      'IAM Principal "arn:aws:sts::123456789012:assumed-role/intruder/s" does not belong to the role "rotator"',
    ]);
  });

  it('requires the configured X-Vault-AWS-IAM-Server-ID header', async () => {
    const res = await login(await awsLoginBody({ role: 'rotator' }));
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual([
      'error validating X-Vault-AWS-IAM-Server-ID header: missing header "X-Vault-AWS-IAM-Server-ID"',
    ]);
  });

  it('requires the server ID header to be covered by the signature', async () => {
    const res = await login(
      await awsLoginBody({ role: 'rotator', serverId: SERVER_ID, signServerId: false }),
    );
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual([
      "error validating X-Vault-AWS-IAM-Server-ID header: vault header wasn't signed",
    ]);
  });

  it('rejects a server ID header with another value', async () => {
    const res = await login(await awsLoginBody({ role: 'rotator', serverId: 'other.example.com' }));
    expect(res.data.errors).toEqual([
      'error validating X-Vault-AWS-IAM-Server-ID header: expected "vault.example.com" but got "other.example.com"',
    ]);
  });

  it('passes an STS rejection on as an upstream error', async () => {
    sts.answer = { status: 403, code: 'SignatureDoesNotMatch' };
    const res = await login(await awsLoginBody({ role: 'rotator', serverId: SERVER_ID }));
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual([
      `error making upstream request: received error code 403 from STS: ${errorXml('SignatureDoesNotMatch')}`,
    ]);
  });

  it('refuses to forward anything but GetCallerIdentity', async () => {
    const res = await login(
      await awsLoginBody({
        role: 'rotator',
        serverId: SERVER_ID,
        body: 'Action=AssumeRole&Version=2011-06-15',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.data.errors).toEqual(["iam_request_body must have 'Action=GetCallerIdentity'"]);
  });

  it('refuses an unknown role and a missing request method', async () => {
    sts.answer = { arn: ASSUMED, userId: 'AROAEXAMPLE:s' };
    const unknown = await login(await awsLoginBody({ role: 'nope', serverId: SERVER_ID }));
    expect(unknown.data.errors).toEqual(['entry for role nope not found']);
    const missing = await login({ role: 'rotator' });
    expect(missing.data.errors).toEqual(['missing iam_http_request_method']);
  });

  it('reads a role back and refuses a role without any binding', async () => {
    const role = await root().get('auth/aws/role/rotator');
    expect(role.data.data).toMatchObject({
      auth_type: 'iam',
      bound_iam_principal_arn: [ROLE_ARN],
      token_ttl: 900,
    });
    const unbound = await root().post('auth/aws/role/open', { auth_type: 'iam' });
    expect(unbound.status).toBe(400);
  });
});
