import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../functions/commons/config.js';
import { ConfigurationError } from '../../../../functions/commons/errors.js';
import { VaultEnv, vaultConfig } from '../../../../functions/commons/vault/config.js';
import { awsAuthSettings } from '../../support.js';

const REQUIRED = {
  AWS_REGION: 'eu-west-1',
  ROTATOR_KMS_KEY_ID: 'alias/iam-key-rotator',
  ROTATOR_PIN_KEY_ID: 'alias/iam-key-rotator-pin',
  ROTATOR_CLAIM_KEY_ID: 'alias/iam-key-rotator-claim',
  VAULT_ADDR: 'https://vault.example.com:8200',
};

const vaultOf = (env: NodeJS.ProcessEnv) => loadConfig({ ...REQUIRED, ...env }).vault;

function failureOf(env: NodeJS.ProcessEnv): Error {
  try {
    loadConfig({ ...REQUIRED, ...env });
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected loadConfig to throw');
}

/** Asserts a ConfigurationError whose message contains every `names` and none of `secrets`. */
function expectRefused(env: NodeJS.ProcessEnv, names: string[], secrets: string[] = []) {
  const error = failureOf(env);
  expect(error).toBeInstanceOf(ConfigurationError);
  expect(error.name).toBe('ConfigurationError');
  for (const name of names) expect(error.message).toContain(name);
  for (const secret of secrets) expect(error.message).not.toContain(secret);
  return error;
}

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

describe('vaultConfig', () => {
  it('is what loadConfig composes, from VaultEnv alone', () => {
    const direct = vaultConfig(VaultEnv.parse({ VAULT_ADDR: REQUIRED.VAULT_ADDR }));
    expect(direct).toEqual(vaultOf({}));
  });

  it('fills in the documented defaults', () => {
    expect(vaultOf({})).toEqual({
      addr: 'https://vault.example.com:8200',
      namespace: undefined,
      mount: 'secret',
      kvVersion: 'auto',
      pathPrefix: 'aws/iam-users/',
      pathTemplate: '{prefix}{userName}',
      fields: { accessKeyId: 'access_key', secretAccessKey: 'secret_key' },
      extraFields: {},
      timeoutMs: 5_000,
      auth: awsAuthSettings({ serverId: 'vault.example.com' }),
      tls: { ca: undefined, clientCert: undefined, skipVerify: false },
    });
  });
});

describe('VAULT_ADDR', () => {
  it.each([
    'https://vault.example.com:8200',
    'https://10.0.0.5',
    'http://127.0.0.1:8200',
    'http://127.8.9.10:8200',
    'http://localhost:8200',
    'http://[::1]:8200',
    'http://127.1:8200',
  ])('accepts %s', (addr) => {
    expect(vaultOf({ VAULT_ADDR: addr }).addr).toBe(addr);
  });

  it.each([
    'http://vault.example.com:8200',
    'http://10.0.0.5:8200',
    'http://127.0.0.1.nip.io',
    'http://localhost.example.com',
    'http://[::2]:8200',
    'http://128.0.0.1',
    'ftp://vault.example.com',
  ])('refuses %s: https unless the host is loopback', (addr) => {
    expectRefused({ VAULT_ADDR: addr }, ['VAULT_ADDR', 'https://']);
  });

  it('refuses credentials in the address without echoing them', () => {
    expectRefused(
      { VAULT_ADDR: 'https://admin:s3cr3t-pass@vault.example.com' },
      ['VAULT_ADDR'],
      ['s3cr3t-pass'],
    );
  });
});

describe('VAULT_NAMESPACE', () => {
  it.each([
    ['team-a', 'team-a'],
    ['admin/team-a', 'admin/team-a'],
    ['admin/team-a/', 'admin/team-a'],
    ['/admin/team_a.b', 'admin/team_a.b'],
    ['', undefined],
  ])('takes %j as %j', (value, expected) => {
    expect(vaultOf({ VAULT_NAMESPACE: value }).namespace).toBe(expected);
  });

  it.each([
    'team-a\r\nX-Vault-Token: stolen',
    'team-a\n',
    'team\ta',
    'team a',
    'admin/../other',
    '..',
    'admin//team-a',
    '//team-a',
    'team-a//',
    '/',
    'root',
    'admin/sys',
    'identity',
    'tëam',
  ])('refuses %j', (value) => {
    const error = expectRefused({ VAULT_NAMESPACE: value }, ['VAULT_NAMESPACE']);
    expect(error.message).not.toMatch(/[\r\n]/);
  });
});

describe('VAULT_AWS_IAM_SERVER_ID', () => {
  const serverIdOf = (env: NodeJS.ProcessEnv) => {
    const auth = vaultOf(env).auth;
    if (auth.method !== 'aws') throw new Error('expected aws auth');
    return auth.serverId;
  };

  it.each([
    [{}, 'vault.example.com'],
    [{ VAULT_AWS_IAM_SERVER_ID: 'auto' }, 'vault.example.com'],
    [
      { VAULT_AWS_IAM_SERVER_ID: 'auto', VAULT_ADDR: 'https://Vault.Example.COM.:8200' },
      'vault.example.com.',
    ],
    [{ VAULT_AWS_IAM_SERVER_ID: 'auto', VAULT_ADDR: 'http://[::1]:8200' }, '::1'],
    [{ VAULT_AWS_IAM_SERVER_ID: '' }, undefined],
    [{ VAULT_AWS_IAM_SERVER_ID: 'vault-prod' }, 'vault-prod'],
  ])('%j sends %j', (env, expected) => {
    expect(serverIdOf(env)).toBe(expected);
  });

  it('refuses control characters', () => {
    expectRefused({ VAULT_AWS_IAM_SERVER_ID: 'vault\r\nX: y' }, ['VAULT_AWS_IAM_SERVER_ID']);
  });
});

describe('secrets given as plain environment values', () => {
  const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'iam-key-rotator-prod-storeInVault' };
  const TOKEN = 'hvs.PlainTokenInLambda0123456789';
  const SECRET_ID = '9a8b7c6d-1111-2222-3333-444455556666';

  it.each([
    [{ VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: TOKEN }, 'VAULT_TOKEN', 'VAULT_TOKEN_SECRET_ID'],
    // Refused even when another auth method would ignore it: it is readable all the same.
    [{ VAULT_TOKEN: TOKEN }, 'VAULT_TOKEN', 'VAULT_TOKEN_PARAMETER'],
    [
      { VAULT_AUTH_METHOD: 'approle', VAULT_APPROLE_ROLE_ID: 'role-1', VAULT_APPROLE_SECRET_ID: SECRET_ID },
      'VAULT_APPROLE_SECRET_ID',
      'VAULT_APPROLE_SECRET_ID_SECRET',
    ],
    [
      { VAULT_CLIENT_CERT_PEM: PEM, VAULT_CLIENT_KEY_PEM: KEY_PEM },
      'VAULT_CLIENT_KEY_PEM',
      'VAULT_CLIENT_CERT_SECRET_ID',
    ],
  ])('are refused in Lambda (%#), naming the variable and the store to use instead', (env, name, instead) => {
    expectRefused({ ...LAMBDA, ...env }, [name, instead, 'Lambda'], [TOKEN, SECRET_ID, KEY_PEM]);
  });

  it('are accepted outside Lambda (the local stack, a laptop), and stores are accepted in Lambda', () => {
    expect(vaultOf({ VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: TOKEN }).auth).toEqual({
      method: 'token',
      token: { kind: 'env', value: TOKEN },
    });
    expect(
      vaultOf({ ...LAMBDA, VAULT_AUTH_METHOD: 'token', VAULT_TOKEN_SECRET_ID: 'rotator/token' }).auth,
    ).toEqual({
      method: 'token',
      token: { kind: 'secrets-manager', secretId: 'rotator/token' },
    });
    expect(
      vaultOf({
        ...LAMBDA,
        VAULT_TOKEN: '',
        VAULT_CACERT_PEM: PEM,
        VAULT_CLIENT_CERT_SECRET_ID: 'vault/client',
      }).tls,
    ).toMatchObject({ ca: { kind: 'env', value: PEM }, clientCert: { secretId: 'vault/client' } });
  });
});

describe('KV version', () => {
  it.each([
    ['auto', 'auto'],
    ['1', 1],
    ['2', 2],
  ] as const)('reads VAULT_KV_VERSION=%s as %j', (value, expected) => {
    expect(vaultOf({ VAULT_KV_VERSION: value }).kvVersion).toBe(expected);
  });

  it.each(['3', 'v2', 'kv'])('refuses VAULT_KV_VERSION=%s', (value) => {
    expectRefused({ VAULT_KV_VERSION: value }, ['VAULT_KV_VERSION']);
  });
});

describe('field names', () => {
  it('uses the configured field names for the key pair', () => {
    expect(
      vaultOf({
        VAULT_FIELD_ACCESS_KEY: 'AWS_ACCESS_KEY_ID',
        VAULT_FIELD_SECRET_KEY: 'AWS_SECRET_ACCESS_KEY',
      }).fields,
    ).toEqual({ accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY' });
  });

  it.each([
    ['VAULT_FIELD_ACCESS_KEY', 'access key'],
    ['VAULT_FIELD_SECRET_KEY', 'a/b'],
    ['VAULT_FIELD_SECRET_KEY', 'x'.repeat(65)],
  ])('refuses %s=%j', (name, value) => {
    expectRefused({ [name]: value }, [name]);
  });
});

describe('extra fields', () => {
  it('reads VAULT_EXTRA_FIELDS as a JSON object of strings', () => {
    expect(
      vaultOf({ VAULT_EXTRA_FIELDS: '{"owner":"team-a","rotated_by":"iam-key-rotator"}' }).extraFields,
    ).toEqual({ owner: 'team-a', rotated_by: 'iam-key-rotator' });
  });

  it.each([
    ['malformed JSON', '{"owner":'],
    ['a non-string value', '{"owner": 1}'],
    ['a field name Vault would not accept', '{"bad name": "x"}'],
    ['a value over 1024 characters', JSON.stringify({ note: 'x'.repeat(1025) })],
  ])('refuses %s', (_what, value) => {
    expectRefused({ VAULT_EXTRA_FIELDS: value }, ['VAULT_EXTRA_FIELDS']);
  });

  it.each(['access_key', 'secret_key'])('refuses an extra field shadowing the key field %s', (name) => {
    expectRefused({ VAULT_EXTRA_FIELDS: JSON.stringify({ [name]: 'AKIAFAKE' }) }, [
      'VAULT_EXTRA_FIELDS',
      name,
    ]);
  });

  it('refuses an extra field shadowing a renamed key field, and allows the default name then', () => {
    const renamed = { VAULT_FIELD_ACCESS_KEY: 'id', VAULT_FIELD_SECRET_KEY: 'secret' };
    expectRefused({ ...renamed, VAULT_EXTRA_FIELDS: '{"secret":"x"}' }, ['VAULT_EXTRA_FIELDS', 'secret']);
    expect(vaultOf({ ...renamed, VAULT_EXTRA_FIELDS: '{"access_key":"legacy"}' }).extraFields).toEqual({
      access_key: 'legacy',
    });
  });
});

describe('path template', () => {
  it.each([
    ['{prefix}{userName}', 'aws/iam-users/'],
    ['{prefix}{accountId}/{userName}', 'aws/iam-users/'],
    ['{prefix}{userName}/aws', 'aws/iam-users/'],
    ['aws/iam-users/{accountId}/{userName}', 'aws/iam-users/'],
    ['{accountId}/{userName}', ''],
  ])('accepts %s below prefix %j', (template, prefix) => {
    expect(vaultOf({ VAULT_PATH_TEMPLATE: template, VAULT_PATH_PREFIX: prefix })).toMatchObject({
      pathTemplate: template,
      pathPrefix: prefix,
    });
  });

  it.each(['shared/{userName}', '{accountId}/{prefix}{userName}', '{userName}{prefix}', 'aws/{userName}'])(
    'refuses %s, whose paths are not below the prefix',
    (template) => {
      expectRefused({ VAULT_PATH_TEMPLATE: template }, ['VAULT_PATH_TEMPLATE', 'VAULT_PATH_PREFIX']);
    },
  );

  it.each(['{prefix}alice', '{prefix}{user}', '{prefix}{userName}?x', '{prefix} {userName}'])(
    'refuses %s: it must contain {userName} and only path characters',
    (template) => {
      expectRefused({ VAULT_PATH_TEMPLATE: template }, ['VAULT_PATH_TEMPLATE']);
    },
  );
});

describe('auth method aws', () => {
  it('ignores the variables of the other methods', () => {
    expect(
      vaultOf({ VAULT_TOKEN: 'hvs.x', VAULT_APPROLE_ROLE_ID: 'role', VAULT_APPROLE_SECRET_ID: 'sid' }).auth
        .method,
    ).toBe('aws');
  });

  it('refuses an STS endpoint that is not a URL', () => {
    expectRefused({ VAULT_AWS_STS_ENDPOINT: 'sts.amazonaws.com' }, ['VAULT_AWS_STS_ENDPOINT']);
  });
});

describe('auth method approle', () => {
  const SECRET_ID = '4f1c2d3e-aaaa-bbbb-cccc-0123456789ab';
  const approle = { VAULT_AUTH_METHOD: 'approle', VAULT_APPROLE_ROLE_ID: 'role-1' };

  it('reads the secret_id from Secrets Manager', () => {
    expect(vaultOf({ ...approle, VAULT_APPROLE_SECRET_ID_SECRET: 'rotator/approle' }).auth).toEqual({
      method: 'approle',
      mount: 'approle',
      roleId: 'role-1',
      secretId: { kind: 'secrets-manager', secretId: 'rotator/approle' },
    });
  });

  it('reads the secret_id from the environment, at the configured mount', () => {
    expect(
      vaultOf({ ...approle, VAULT_APPROLE_SECRET_ID: SECRET_ID, VAULT_APPROLE_MOUNT: 'approle-prod' }).auth,
    ).toEqual({
      method: 'approle',
      mount: 'approle-prod',
      roleId: 'role-1',
      secretId: { kind: 'env', value: SECRET_ID },
    });
  });

  it.each([{}, { VAULT_APPROLE_ROLE_ID: '' }])('needs VAULT_APPROLE_ROLE_ID (%j)', (env) => {
    expectRefused(
      { VAULT_AUTH_METHOD: 'approle', VAULT_APPROLE_SECRET_ID: SECRET_ID, ...env },
      ['VAULT_APPROLE_ROLE_ID'],
      [SECRET_ID],
    );
  });

  it('needs a secret_id source', () => {
    expectRefused(approle, ['VAULT_APPROLE_SECRET_ID_SECRET', 'VAULT_APPROLE_SECRET_ID', 'exactly one']);
  });

  it('refuses two secret_id sources without echoing the secret_id', () => {
    expectRefused(
      { ...approle, VAULT_APPROLE_SECRET_ID: SECRET_ID, VAULT_APPROLE_SECRET_ID_SECRET: 'rotator/approle' },
      ['exactly one'],
      [SECRET_ID],
    );
  });
});

describe('auth method token', () => {
  const TOKEN = 'hvs.SuperSecretTokenValue123';

  it.each([
    [{ VAULT_TOKEN: TOKEN }, { kind: 'env', value: TOKEN }],
    [{ VAULT_TOKEN_SECRET_ID: 'rotator/token' }, { kind: 'secrets-manager', secretId: 'rotator/token' }],
    [{ VAULT_TOKEN_PARAMETER: '/rotator/token' }, { kind: 'ssm', parameter: '/rotator/token' }],
  ])('takes the token from %j', (env, source) => {
    expect(vaultOf({ VAULT_AUTH_METHOD: 'token', ...env }).auth).toEqual({ method: 'token', token: source });
  });

  it('needs a token source, naming every variable', () => {
    expectRefused({ VAULT_AUTH_METHOD: 'token' }, [
      'VAULT_TOKEN_SECRET_ID',
      'VAULT_TOKEN_PARAMETER',
      'VAULT_TOKEN',
      'exactly one',
    ]);
  });

  it.each([
    { VAULT_TOKEN_SECRET_ID: 'rotator/token', VAULT_TOKEN_PARAMETER: '/rotator/token' },
    { VAULT_TOKEN_SECRET_ID: 'rotator/token', VAULT_TOKEN: TOKEN },
    { VAULT_TOKEN_SECRET_ID: 'rotator/token', VAULT_TOKEN_PARAMETER: '/rotator/token', VAULT_TOKEN: TOKEN },
  ])('refuses more than one token source (%j) without echoing the token', (env) => {
    expectRefused({ VAULT_AUTH_METHOD: 'token', ...env }, ['exactly one'], [TOKEN]);
  });
});

describe('TLS', () => {
  it('takes the CA bundle from VAULT_CACERT_PEM', () => {
    expect(vaultOf({ VAULT_CACERT_PEM: PEM }).tls).toEqual({
      ca: { kind: 'env', value: PEM },
      clientCert: undefined,
      skipVerify: false,
    });
  });

  it('takes the CA bundle from the SSM parameter VAULT_CACERT_PARAMETER', () => {
    expect(vaultOf({ VAULT_CACERT_PARAMETER: '/vault/ca' }).tls.ca).toEqual({
      kind: 'ssm',
      parameter: '/vault/ca',
    });
  });

  it('refuses both CA sources', () => {
    expectRefused({ VAULT_CACERT_PEM: PEM, VAULT_CACERT_PARAMETER: '/vault/ca' }, [
      'VAULT_CACERT_PEM',
      'VAULT_CACERT_PARAMETER',
    ]);
  });

  it('takes the client certificate and key from the environment', () => {
    expect(vaultOf({ VAULT_CLIENT_CERT_PEM: PEM, VAULT_CLIENT_KEY_PEM: KEY_PEM }).tls.clientCert).toEqual({
      cert: PEM,
      key: KEY_PEM,
    });
  });

  it('takes the client certificate from Secrets Manager', () => {
    expect(vaultOf({ VAULT_CLIENT_CERT_SECRET_ID: 'vault/client-cert' }).tls.clientCert).toEqual({
      secretId: 'vault/client-cert',
    });
  });

  it.each([{ VAULT_CLIENT_CERT_PEM: PEM }, { VAULT_CLIENT_KEY_PEM: KEY_PEM }])(
    'refuses a client certificate without its key or a key without its certificate (%#)',
    (env) => {
      expectRefused(env, ['VAULT_CLIENT_CERT_PEM', 'VAULT_CLIENT_KEY_PEM'], [KEY_PEM]);
    },
  );

  it.each(['http://127.0.0.1:8200', 'https://localhost:8200', 'https://[::1]:8200'])(
    'accepts VAULT_SKIP_VERIFY for the loopback address %s',
    (addr) => {
      expect(vaultOf({ VAULT_ADDR: addr, VAULT_SKIP_VERIFY: 'true' }).tls.skipVerify).toBe(true);
    },
  );

  it.each([
    'https://vault.example.com:8200',
    'https://10.0.0.5:8200',
    'https://127.0.0.1.nip.io:8200',
    'https://localhost.example.com',
  ])('refuses VAULT_SKIP_VERIFY for the remote address %s', (addr) => {
    expectRefused({ VAULT_ADDR: addr, VAULT_SKIP_VERIFY: 'true' }, ['VAULT_SKIP_VERIFY']);
  });

  it.each(['false', ''])('verifies certificates when VAULT_SKIP_VERIFY is %j, for any address', (value) => {
    expect(vaultOf({ VAULT_SKIP_VERIFY: value }).tls.skipVerify).toBe(false);
  });

  it.each(['1', 'yes', 'TRUE'])('refuses VAULT_SKIP_VERIFY=%s', (value) => {
    expectRefused({ VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_SKIP_VERIFY: value }, ['VAULT_SKIP_VERIFY']);
  });
});
