import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import axios, {
  AxiosError,
  type AxiosAdapter,
  type AxiosInstance,
  type InternalAxiosRequestConfig,
} from 'axios';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../../functions/commons/config.js';
import { acquireToken } from '../../../../functions/commons/vault/auth.js';
import { rejectionOf, sdkError } from '../../support.js';

const TOKEN = 'hvs.CAESIJ1q2w3e4r5t6y7u8i9o0pAbCdEfGhIj';
const FUNCTION_KEY_ID = 'AKIAFUNCTIONKEY00001';
const FUNCTION_SECRET = 'function/secret/Key+that/must+not/leak00';

const secretsManager = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);

type AwsAuth = Extract<Config['vault']['auth'], { method: 'aws' }>;
const awsAuth = (extra: Partial<AwsAuth> = {}): AwsAuth => ({
  method: 'aws',
  mount: 'aws',
  role: 'iam-key-rotator',
  serverId: undefined,
  stsEndpoint: 'https://sts.amazonaws.com',
  stsRegion: 'us-east-1',
  ...extra,
});

/** An axios instance whose requests never leave the process: records them and answers with `reply`. */
function fakeVault(reply: { status: number; data: unknown }): {
  http: AxiosInstance;
  sent: InternalAxiosRequestConfig[];
} {
  const sent: InternalAxiosRequestConfig[] = [];
  const adapter: AxiosAdapter = (config) => {
    sent.push(config);
    const response = {
      status: reply.status,
      statusText: '',
      data: reply.data,
      headers: {},
      config,
      request: {},
    };
    // Settles like axios' own adapters: statuses validateStatus refuses reject with an AxiosError.
    if (config.validateStatus && !config.validateStatus(reply.status)) {
      return Promise.reject(
        new AxiosError(`status ${reply.status}`, 'ERR_BAD_RESPONSE', config, {}, response),
      );
    }
    return Promise.resolve(response);
  };
  return { http: axios.create({ baseURL: 'http://vault.test/v1/', adapter }), sent };
}

const unusedHttp = () => fakeVault({ status: 500, data: {} }).http;

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: FUNCTION_KEY_ID,
    AWS_SECRET_ACCESS_KEY: FUNCTION_SECRET,
    ROTATOR_KMS_KEY_ID: 'alias/rotator',
    VAULT_ADDR: 'http://vault.test',
    VAULT_AUTH_METHOD: 'aws',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
});

beforeEach(() => {
  secretsManager.reset();
  ssm.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('acquireToken with token auth', () => {
  it('uses a token from the environment and caches it for five minutes', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const lease = await acquireToken(unusedHttp(), {
      method: 'token',
      source: { kind: 'env', token: TOKEN },
    });
    expect(lease).toEqual({ token: TOKEN, refreshAt: Date.parse('2024-05-01T12:05:00Z'), fromLogin: false });
  });

  describe('from Secrets Manager', () => {
    const source = {
      method: 'token',
      source: { kind: 'secrets-manager', secretId: 'rotator/vault-token' },
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
    ])('throws VaultAuthError without echoing the value for %s', async (_what, value) => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
      const error = await rejectionOf(acquireToken(unusedHttp(), source));
      expect(error.name).toBe('VaultAuthError');
      expect(error.message).toContain('secret rotator/vault-token');
      expect(error.message).not.toContain(TOKEN);
    });

    it('throws VaultAuthError for a binary secret', async () => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]) });
      expect((await rejectionOf(acquireToken(unusedHttp(), source))).name).toBe('VaultAuthError');
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
    const source = { method: 'token', source: { kind: 'ssm', parameter: '/rotator/vault-token' } } as const;

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

    it('throws VaultAuthError naming the parameter when it has no value', async () => {
      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/rotator/vault-token' } });
      const error = await rejectionOf(acquireToken(unusedHttp(), source));
      expect(error.name).toBe('VaultAuthError');
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
  const bodyOf = (config: InternalAxiosRequestConfig | undefined): LoginBody =>
    JSON.parse(String(config?.data)) as LoginBody;
  const decode = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');
  const headersOf = (body: LoginBody) =>
    JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;

  it('posts a signed GetCallerIdentity to auth/<mount>/login with base64 fields', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuth({ mount: 'aws-prod', role: 'rotator' }));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.method).toBe('post');
    expect(sent[0]?.url).toBe('auth/aws-prod/login');
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
      awsAuth({ stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', stsRegion: 'eu-west-1' }),
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
    await acquireToken(http, awsAuth({ serverId: 'vault.example.com' }));
    const headers = headersOf(bodyOf(sent[0]));
    expect(headers['x-vault-aws-iam-server-id']).toEqual(['vault.example.com']);
    expect(headers.authorization?.[0]).toMatch(/SignedHeaders=[^,]*x-vault-aws-iam-server-id/);
  });

  it('keeps a non-default port in the URL and host header', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuth({ stsEndpoint: 'http://127.0.0.1:4566' }));
    const body = bodyOf(sent[0]);
    expect(decode(body.iam_request_url)).toBe('http://127.0.0.1:4566/');
    expect(headersOf(body).host).toEqual(['127.0.0.1:4566']);
  });

  it('never sends the function secret key', async () => {
    const { http, sent } = fakeVault(loggedIn);
    await acquireToken(http, awsAuth());
    const body = bodyOf(sent[0]);
    expect(JSON.stringify(body)).not.toContain(FUNCTION_SECRET);
    expect(decode(body.iam_request_headers)).not.toContain(FUNCTION_SECRET);
  });

  it('returns the client token, refreshing at two thirds of the lease', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const { http } = fakeVault(loggedIn);
    await expect(acquireToken(http, awsAuth())).resolves.toEqual({
      token: TOKEN,
      refreshAt: Date.parse('2024-05-01T12:10:00Z'),
      fromLogin: true,
    });
  });

  it('never refreshes a token without lease duration', async () => {
    const { http } = fakeVault({ status: 200, data: { auth: { client_token: TOKEN, lease_duration: 0 } } });
    await expect(acquireToken(http, awsAuth())).resolves.toMatchObject({
      refreshAt: Number.POSITIVE_INFINITY,
    });
  });

  it('throws VaultAuthError when the login answers without a token', async () => {
    const { http } = fakeVault({ status: 200, data: { data: {} } });
    const error = await rejectionOf(acquireToken(http, awsAuth()));
    expect(error.name).toBe('VaultAuthError');
    expect(error.message).toBe('Vault login at auth/aws/login returned no token');
  });

  it.each([400, 403])(
    'throws VaultAuthError with Vault’s reason when the login is refused with %i',
    async (status) => {
      const { http } = fakeVault({
        status,
        data: { errors: ['IAM Principal "arn:aws:iam::1:user/x" does not belong'] },
      });
      const error = await rejectionOf(acquireToken(http, awsAuth()));
      expect(error.name).toBe('VaultAuthError');
      expect(error.message).toContain('Vault login at auth/aws/login was refused');
      expect(error.message).toContain('does not belong');
    },
  );

  it('throws VaultUnavailableError when Vault is unavailable during login', async () => {
    const { http } = fakeVault({ status: 503, data: { errors: ['Vault is sealed'] } });
    expect((await rejectionOf(acquireToken(http, awsAuth()))).name).toBe('VaultUnavailableError');
  });

  it('throws VaultAuthError on a 404 login path without a token', async () => {
    const { http } = fakeVault({ status: 404, data: { errors: [] } });
    expect((await rejectionOf(acquireToken(http, awsAuth({ mount: 'missing' })))).name).toBe(
      'VaultAuthError',
    );
  });
});
