import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../../functions/commons/config.js';
import { acquireToken as acquireWith } from '../../../../functions/commons/vault/auth.js';
import type { VaultAuth } from '../../../../functions/commons/vault/config.js';
import { readSecretSource } from '../../../../functions/commons/secret-source.js';
import { VaultAuthError } from '../../../../functions/commons/vault/errors.js';
import { createHttp, send, type VaultHttp } from '../../../../functions/commons/vault/http.js';
import type { VaultEmulator } from '../../../../local-stack/vault/index.js';
import {
  awsAuthSettings,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  startVault,
  vaultSettings,
} from '../../support.js';

/** The Lambdas' way: secrets from the environment, Secrets Manager or SSM. */
const acquireToken = (http: VaultHttp, auth: VaultAuth) => acquireWith(http, auth, readSecretSource);

const TOKEN = 'hvs.CAESIJ1q2w3e4r5t6y7u8i9o0pAbCdEfGhIj';
const FUNCTION_KEY_ID = 'AKIAFUNCTIONKEY00001';
const FUNCTION_SECRET = 'function/secret/Key+that/must+not/leak00';

const secretsManager = resetBeforeEach(mockClient(SecretsManagerClient));
const ssm = resetBeforeEach(mockClient(SSMClient));

/** One request as the fake Vault received it: `body` is the JSON text axios sent. */
interface WireRequest {
  method: string;
  path: string;
  body: unknown;
}

/** Vault's HTTP API whose requests never leave the process: records them and answers with `reply`. */
function fakeVault(reply: { status: number; data: unknown }): { http: VaultHttp; sent: WireRequest[] } {
  const sent: WireRequest[] = [];
  const http = createHttp(vaultSettings('http://vault.test', 'unused'));
  // axios's adapter seam: the instance's own transforms still parse the answer.
  http.defaults.adapter = (config) => {
    sent.push({ method: (config.method ?? '').toUpperCase(), path: config.url ?? '', body: config.data });
    return Promise.resolve({
      status: reply.status,
      statusText: '',
      headers: {},
      config,
      data: JSON.stringify(reply.data),
    });
  };
  return { http, sent };
}

const unusedHttp = () => fakeVault({ status: 500, data: {} }).http;

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: FUNCTION_KEY_ID,
    AWS_SECRET_ACCESS_KEY: FUNCTION_SECRET,
    ROTATOR_KMS_KEY_ID: 'alias/rotator',
    ROTATOR_PIN_KEY_ID: 'alias/rotator-pin',
    ROTATOR_CLAIM_KEY_ID: 'alias/rotator-claim',
    VAULT_ADDR: 'https://vault.test',
    VAULT_AUTH_METHOD: 'aws',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('acquireToken with token auth', () => {
  it('uses a token from the environment and caches it for five minutes', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const lease = await acquireToken(unusedHttp(), {
      method: 'token',
      token: { kind: 'env', value: TOKEN },
    });
    expect(lease).toEqual({ token: TOKEN, refreshAt: Date.parse('2024-05-01T12:05:00Z'), fromLogin: false });
  });

  describe('from Secrets Manager', () => {
    const source = {
      method: 'token',
      token: { kind: 'secrets-manager', secretId: 'rotator/vault-token' },
    } as const;

    it('reads a secret holding the bare token, trimmed', async () => {
      secretsManager
        .on(GetSecretValueCommand, { SecretId: 'rotator/vault-token' })
        .resolves({ SecretString: ` ${TOKEN}\n` });
      await expect(acquireToken(unusedHttp(), source)).resolves.toMatchObject({
        token: TOKEN,
        fromLogin: false,
      });
    });

    it('reads a secret holding JSON with a token field', async () => {
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ token: TOKEN, note: 'x' }) });
      await expect(acquireToken(unusedHttp(), source)).resolves.toMatchObject({ token: TOKEN });
    });

    it.each([
      ['JSON without a token field', JSON.stringify({ value: TOKEN })],
      ['JSON with an empty token', JSON.stringify({ token: '' })],
      ['malformed JSON', `{"token": "${TOKEN}"`],
      ['an empty string', '   '],
    ])('throws VaultTokenSourceError without echoing the value for %s', async (_what, value) => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
      const error = await rejectionOf(acquireToken(unusedHttp(), source));
      expect(error).toBeInstanceOf(VaultAuthError);
      expect(error.name).toBe('VaultTokenSourceError');
      expect(error.message).toContain('secret rotator/vault-token');
      expect(error.message).not.toContain(TOKEN);
    });

    it('throws VaultTokenSourceError for a binary secret', async () => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]) });
      expect((await rejectionOf(acquireToken(unusedHttp(), source))).name).toBe('VaultTokenSourceError');
    });

    it('throws AwsUnavailableError when Secrets Manager throttles', async () => {
      secretsManager.on(GetSecretValueCommand).rejects(sdkError('ThrottlingException', 400));
      const error = await rejectionOf(acquireToken(unusedHttp(), source));
      expect(error.name).toBe('AwsUnavailableError');
      expect(error.message).toContain('secretsmanager:GetSecretValue');
    });

    it('throws AwsRequestError when the secret does not exist', async () => {
      secretsManager.on(GetSecretValueCommand).rejects(sdkError('ResourceNotFoundException', 400));
      expect((await rejectionOf(acquireToken(unusedHttp(), source))).name).toBe('AwsRequestError');
    });
  });

  describe('from SSM Parameter Store', () => {
    const source = { method: 'token', token: { kind: 'ssm', parameter: '/rotator/vault-token' } } as const;

    it('reads the parameter with decryption', async () => {
      ssm
        .on(GetParameterCommand)
        .resolves({ Parameter: { Name: '/rotator/vault-token', Value: TOKEN, Type: 'SecureString' } });
      await expect(acquireToken(unusedHttp(), source)).resolves.toMatchObject({
        token: TOKEN,
        fromLogin: false,
      });
      expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
        Name: '/rotator/vault-token',
        WithDecryption: true,
      });
    });

    it('throws VaultTokenSourceError naming the parameter when it has no value', async () => {
      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/rotator/vault-token' } });
      const error = await rejectionOf(acquireToken(unusedHttp(), source));
      expect(error.name).toBe('VaultTokenSourceError');
      expect(error.message).toContain('parameter /rotator/vault-token');
    });

    it('throws AwsRequestError when the parameter does not exist', async () => {
      ssm.on(GetParameterCommand).rejects(sdkError('ParameterNotFound', 400));
      const error = await rejectionOf(acquireToken(unusedHttp(), source));
      expect(error.name).toBe('AwsRequestError');
      expect(error.message).toContain('ssm:GetParameter');
    });
  });
});

describe('acquireToken with aws auth', () => {
  const loggedIn = {
    status: 200,
    data: { auth: { client_token: TOKEN, lease_duration: 900, renewable: true } },
  };

  type LoginBody = Record<string, string>;
  const bodyOf = (request: WireRequest | undefined): LoginBody =>
    JSON.parse(String(request?.body)) as LoginBody;
  const decode = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');
  const headersOf = (body: LoginBody) =>
    JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;

  it('posts a signed GetCallerIdentity to auth/<mount>/login with base64 fields', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuthSettings({ mount: 'aws-prod', role: 'rotator' }));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.method).toBe('POST');
    expect(sent[0]?.path).toBe('auth/aws-prod/login');
    const body = bodyOf(sent[0]);
    expect(Object.keys(body).sort()).toEqual([
      'iam_http_request_method',
      'iam_request_body',
      'iam_request_headers',
      'iam_request_url',
      'role',
    ]);
    expect(body.role).toBe('rotator');
    expect(body.iam_http_request_method).toBe('POST');
    for (const field of ['iam_request_url', 'iam_request_body', 'iam_request_headers'] as const) {
      expect(body[field]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
    expect(decode(body.iam_request_url)).toBe('https://sts.amazonaws.com/');
    expect(decode(body.iam_request_body)).toBe('Action=GetCallerIdentity&Version=2011-06-15');
  });

  it('signs host, content type and date with the function credentials for STS in the configured region', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(
      http,
      awsAuthSettings({ stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', stsRegion: 'eu-west-1' }),
    );
    const headers = headersOf(bodyOf(sent[0]));
    for (const value of Object.values(headers)) expect(value).toHaveLength(1);
    expect(headers.host).toEqual(['sts.eu-west-1.amazonaws.com']);
    expect(headers['content-type']).toEqual(['application/x-www-form-urlencoded; charset=utf-8']);
    const authorization = headers.authorization?.[0] ?? '';
    expect(authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${FUNCTION_KEY_ID}/\\d{8}/eu-west-1/sts/aws4_request, `),
    );
    expect(authorization).toMatch(/SignedHeaders=[^,]*content-type[^,]*host[^,]*x-amz-date/);
    expect(authorization).not.toContain('x-vault-aws-iam-server-id');
    expect(headers).not.toHaveProperty('x-vault-aws-iam-server-id');
    expect(headers['x-amz-date']?.[0]).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('includes and signs X-Vault-AWS-IAM-Server-ID when a server id is configured', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuthSettings({ serverId: 'vault.example.com' }));
    const headers = headersOf(bodyOf(sent[0]));
    expect(headers['x-vault-aws-iam-server-id']).toEqual(['vault.example.com']);
    expect(headers.authorization?.[0]).toMatch(/SignedHeaders=[^,]*x-vault-aws-iam-server-id/);
  });

  it('keeps a non-default port in the URL and host header', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuthSettings({ stsEndpoint: 'http://127.0.0.1:4566' }));
    const body = bodyOf(sent[0]);
    expect(decode(body.iam_request_url)).toBe('http://127.0.0.1:4566/');
    expect(headersOf(body).host).toEqual(['127.0.0.1:4566']);
  });

  it('never sends the function secret key', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuthSettings());
    const body = bodyOf(sent[0]);
    expect(JSON.stringify(body)).not.toContain(FUNCTION_SECRET);
    expect(decode(body.iam_request_headers)).not.toContain(FUNCTION_SECRET);
  });

  it('returns the client token, refreshing at two thirds of the lease', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const { http } = fakeVault(loggedIn);
    await expect(acquireToken(http, awsAuthSettings())).resolves.toEqual({
      token: TOKEN,
      refreshAt: Date.parse('2024-05-01T12:10:00Z'),
      fromLogin: true,
    });
  });

  it('never refreshes a token without lease duration', async () => {
    const { http } = fakeVault({ status: 200, data: { auth: { client_token: TOKEN, lease_duration: 0 } } });
    await expect(acquireToken(http, awsAuthSettings())).resolves.toMatchObject({
      refreshAt: Number.POSITIVE_INFINITY,
    });
  });

  it('throws VaultAwsLoginError when the login answers without a token', async () => {
    const { http } = fakeVault({ status: 200, data: { data: {} } });
    const error = await rejectionOf(acquireToken(http, awsAuthSettings()));
    expect(error).toBeInstanceOf(VaultAuthError);
    expect(error.name).toBe('VaultAwsLoginError');
    expect(error.message).toBe('Vault login at auth/aws/login returned no token');
  });

  it.each([400, 403])(
    'throws VaultAwsLoginError with Vault’s reason when the login is refused with %i',
    async (status) => {
      const { http } = fakeVault({
        status,
        data: { errors: ['IAM Principal "arn:aws:iam::1:user/x" does not belong'] },
      });
      const error = await rejectionOf(acquireToken(http, awsAuthSettings()));
      expect(error.name).toBe('VaultAwsLoginError');
      expect(error.message).toContain('Vault login at auth/aws/login was refused');
      expect(error.message).toContain('does not belong');
    },
  );

  it('throws VaultUnavailableError when Vault is unavailable during login', async () => {
    const { http } = fakeVault({ status: 503, data: { errors: ['Vault is sealed'] } });
    expect((await rejectionOf(acquireToken(http, awsAuthSettings()))).name).toBe('VaultUnavailableError');
  });

  it('throws VaultAwsLoginError on a 404 login path without a token', async () => {
    const { http } = fakeVault({ status: 404, data: { errors: [] } });
    expect((await rejectionOf(acquireToken(http, awsAuthSettings({ mount: 'missing' })))).name).toBe(
      'VaultAwsLoginError',
    );
  });
});

describe('acquireToken with approle auth', () => {
  const ROLE_ID = 'c8f8a6c2-1111-2222-3333-444455556666';
  const SECRET_ID = '9d0e1f2a-7777-8888-9999-aaaabbbbcccc';
  type AppRoleAuth = Extract<Config['vault']['auth'], { method: 'approle' }>;
  const appRole = (extra: Partial<AppRoleAuth> = {}): AppRoleAuth => ({
    method: 'approle',
    mount: 'approle',
    roleId: ROLE_ID,
    secretId: { kind: 'env', value: SECRET_ID },
    ...extra,
  });
  const loggedIn = {
    status: 200,
    data: { auth: { client_token: TOKEN, lease_duration: 3600, renewable: true } },
  };
  const bodyOf = (request: WireRequest | undefined) =>
    JSON.parse(String(request?.body)) as Record<string, unknown>;

  it('posts role_id and secret_id to auth/<mount>/login and refreshes at two thirds of the lease', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const { http, sent } = fakeVault(loggedIn);
    await expect(acquireToken(http, appRole({ mount: 'approle-prod' }))).resolves.toEqual({
      token: TOKEN,
      refreshAt: Date.parse('2024-05-01T12:40:00Z'),
      fromLogin: true,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.method).toBe('POST');
    expect(sent[0]?.path).toBe('auth/approle-prod/login');
    expect(bodyOf(sent[0])).toEqual({ role_id: ROLE_ID, secret_id: SECRET_ID });
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it.each([
    ['the bare secret_id', ` ${SECRET_ID}\n`],
    ['JSON with a secret_id field', JSON.stringify({ secret_id: SECRET_ID, accessor: 'x' })],
  ])('reads the secret_id from a Secrets Manager secret holding %s', async (_what, value) => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'rotator/approle' })
      .resolves({ SecretString: value });
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, appRole({ secretId: { kind: 'secrets-manager', secretId: 'rotator/approle' } }));
    expect(bodyOf(sent[0])).toEqual({ role_id: ROLE_ID, secret_id: SECRET_ID });
  });

  it.each([
    ['JSON without a secret_id field', JSON.stringify({ token: SECRET_ID })],
    ['JSON with an empty secret_id', JSON.stringify({ secret_id: '' })],
    ['an empty string', ''],
  ])('throws VaultAppRoleLoginError naming the secret, without logging in, for %s', async (_what, value) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
    const { http, sent } = fakeVault(loggedIn);
    const error = await rejectionOf(
      acquireToken(http, appRole({ secretId: { kind: 'secrets-manager', secretId: 'rotator/approle' } })),
    );
    expect(error).toBeInstanceOf(VaultAuthError);
    expect(error.name).toBe('VaultAppRoleLoginError');
    expect(error.message).toContain('secret rotator/approle');
    expect(error.message).not.toContain(SECRET_ID);
    expect(sent).toEqual([]);
  });

  it('throws AwsRequestError when the secret_id secret does not exist', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(sdkError('ResourceNotFoundException', 400));
    const error = await rejectionOf(
      acquireToken(
        unusedHttp(),
        appRole({ secretId: { kind: 'secrets-manager', secretId: 'rotator/approle' } }),
      ),
    );
    expect(error.name).toBe('AwsRequestError');
  });

  it.each([400, 403])(
    'throws VaultAppRoleLoginError with Vault’s reason, without the secret_id, when refused with %i',
    async (status) => {
      const { http } = fakeVault({ status, data: { errors: ['invalid role or secret ID'] } });
      const error = await rejectionOf(acquireToken(http, appRole()));
      expect(error.name).toBe('VaultAppRoleLoginError');
      expect(error.message).toContain('Vault login at auth/approle/login was refused');
      expect(error.message).toContain('invalid role or secret ID');
      expect(error.message).not.toContain(SECRET_ID);
    },
  );

  it('throws VaultAppRoleLoginError when the login answers without a token', async () => {
    const { http } = fakeVault({ status: 200, data: { data: {} } });
    const error = await rejectionOf(acquireToken(http, appRole()));
    expect(error.name).toBe('VaultAppRoleLoginError');
    expect(error.message).toBe('Vault login at auth/approle/login returned no token');
  });

  it('throws VaultUnavailableError when Vault is unavailable during login', async () => {
    const { http } = fakeVault({ status: 503, data: { errors: ['Vault is sealed'] } });
    expect((await rejectionOf(acquireToken(http, appRole()))).name).toBe('VaultUnavailableError');
  });

  describe('against the Vault emulator', () => {
    let vault: VaultEmulator;
    let roleId: string;
    const root = () => createHttp(vaultSettings(vault.addr, vault.rootToken));
    const asRoot = async <T>(method: 'GET' | 'POST', path: string, data?: unknown) =>
      (await send<T>(root(), method, path, { token: vault.rootToken, data })).data?.data;
    const newSecretId = async () =>
      (await asRoot<{ secret_id: string }>('POST', 'auth/approle/role/rotator/secret-id'))?.secret_id ?? '';

    beforeAll(async () => {
      vault = await startVault();
      vault.putPolicy('rotator', 'path "secret/data/aws/*" { capabilities = ["read"] }');
      vault.writeSecret({ mount: 'secret', path: 'aws/probe', data: { value: 'ok' } });
      await asRoot('POST', 'auth/approle/role/rotator', { token_policies: ['rotator'], token_ttl: '15m' });
      roleId = (await asRoot<{ role_id: string }>('GET', 'auth/approle/role/rotator/role-id'))?.role_id ?? '';
    });

    afterAll(async () => {
      await vault.close();
    });

    it('logs in with a secret_id from Secrets Manager and gets a token with the role’s policy', async () => {
      const secretId = await newSecretId();
      secretsManager
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ secret_id: secretId }) });
      const lease = await acquireToken(
        root(),
        appRole({ roleId, secretId: { kind: 'secrets-manager', secretId: 'rotator/approle' } }),
      );
      expect(lease.fromLogin).toBe(true);
      const read = await send<{ data: { value: string } }>(root(), 'GET', 'secret/data/aws/probe', {
        token: lease.token,
      });
      expect(read.data?.data?.data.value).toBe('ok');
    });

    it('throws VaultAppRoleLoginError, without the secret_id, for a secret_id Vault does not know', async () => {
      const error = await rejectionOf(
        acquireToken(root(), appRole({ roleId, secretId: { kind: 'env', value: SECRET_ID } })),
      );
      expect(error.name).toBe('VaultAppRoleLoginError');
      expect(error.message).toContain('invalid role or secret ID');
      expect(error.message).not.toContain(SECRET_ID);
    });

    it('throws VaultAppRoleLoginError for a role_id Vault does not know', async () => {
      const secretId = await newSecretId();
      const error = await rejectionOf(
        acquireToken(root(), appRole({ roleId: ROLE_ID, secretId: { kind: 'env', value: secretId } })),
      );
      expect(error.name).toBe('VaultAppRoleLoginError');
    });
  });
});
