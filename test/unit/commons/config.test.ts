import { describe, expect, it, vi } from 'vitest';
import { loadConfig, MAX_WAIT_SECONDS } from '../../../functions/commons/config.js';
import { ConfigurationError } from '../../../functions/commons/errors.js';
import { awsAuthSettings, rejectionOf } from '../support.js';

const REQUIRED = {
  AWS_REGION: 'eu-west-1',
  ROTATOR_KMS_KEY_ID: 'alias/iam-key-rotator',
  ROTATOR_PIN_KEY_ID: 'alias/iam-key-rotator-pin',
  ROTATOR_CLAIM_KEY_ID: 'alias/iam-key-rotator-claim',
  VAULT_ADDR: 'https://vault.example.com:8200/',
};

function failureOf(env: NodeJS.ProcessEnv): Error {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('fills in the documented defaults when only the required variables are set', () => {
      const config = loadConfig(REQUIRED);
      expect(config.region).toBe('eu-west-1');
      expect(config.kmsKeyId).toBe('alias/iam-key-rotator');
      expect(config.awsTimeoutMs).toBe(10_000);
      expect(config.defaults).toEqual({
        graceSeconds: 900,
        recoverySeconds: 86_400,
        oldKeyInUse: 'wait',
        inUseRecheckSeconds: 900,
      });
      expect(config.inUse).toEqual({ marginSeconds: 360, maxWaitSeconds: 86_400 });
      expect(config.floors).toEqual({
        minGraceSeconds: 300,
        minRecoverySeconds: 3600,
        allowOldKeyInUseProceed: false,
        allowVaultPathMove: false,
        allowVaultPathAdopt: false,
        allowDeleteInactiveKey: false,
      });
      expect(config.tagKeys).toEqual({
        pin: 'alias/iam-key-rotator-pin',
        claim: 'alias/iam-key-rotator-claim',
      });
      expect(config.vault).toMatchObject({
        namespace: undefined,
        mount: 'secret',
        pathPrefix: 'aws/iam-users/',
        timeoutMs: 5_000,
      });
      expect(config.vault.auth).toEqual(awsAuthSettings({ serverId: 'vault.example.com' }));
    });

    it('strips trailing slashes from VAULT_ADDR', () => {
      expect(loadConfig(REQUIRED).vault.addr).toBe('https://vault.example.com:8200');
    });

    it('treats empty optional variables as unset', () => {
      const config = loadConfig({ ...REQUIRED, VAULT_NAMESPACE: '', VAULT_AWS_IAM_SERVER_ID: '' });
      expect(config.vault.namespace).toBeUndefined();
      expect(config.vault.auth).toMatchObject({ serverId: undefined });
    });
  });

  describe('overrides', () => {
    it('reads numbers, namespace, mount, prefix and aws-auth settings from the environment', () => {
      const config = loadConfig({
        ...REQUIRED,
        ROTATOR_GRACE_SECONDS: '60',
        ROTATOR_RECOVERY_SECONDS: '0',
        ROTATOR_OLD_KEY_IN_USE: 'fail',
        ROTATOR_MIN_GRACE_SECONDS: '60',
        ROTATOR_MIN_RECOVERY_SECONDS: '0',
        ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true',
        ROTATOR_ALLOW_VAULT_PATH_MOVE: 'true',
        ROTATOR_ALLOW_VAULT_PATH_ADOPT: 'true',
        ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true',
        ROTATOR_IN_USE_RECHECK_SECONDS: '300',
        ROTATOR_IN_USE_MARGIN_SECONDS: '5',
        ROTATOR_IN_USE_MAX_WAIT_SECONDS: '3600',
        ROTATOR_AWS_TIMEOUT_MS: '2500',
        VAULT_NAMESPACE: 'team-a',
        VAULT_KV_MOUNT: 'kv/aws',
        VAULT_PATH_PREFIX: '',
        VAULT_TIMEOUT_MS: '100',
        VAULT_AWS_AUTH_MOUNT: 'aws-prod',
        VAULT_AWS_AUTH_ROLE: 'rotator',
        VAULT_AWS_IAM_SERVER_ID: 'vault.example.com',
        VAULT_AWS_STS_ENDPOINT: 'https://sts.eu-west-1.amazonaws.com',
        VAULT_AWS_STS_REGION: 'eu-west-1',
      });
      expect(config.defaults).toEqual({
        graceSeconds: 60,
        recoverySeconds: 0,
        oldKeyInUse: 'fail',
        inUseRecheckSeconds: 300,
      });
      expect(config.inUse).toEqual({ marginSeconds: 5, maxWaitSeconds: 3600 });
      expect(config.floors).toEqual({
        minGraceSeconds: 60,
        minRecoverySeconds: 0,
        allowOldKeyInUseProceed: true,
        allowVaultPathMove: true,
        allowVaultPathAdopt: true,
        allowDeleteInactiveKey: true,
      });
      expect(config.awsTimeoutMs).toBe(2500);
      expect(config.vault).toMatchObject({
        namespace: 'team-a',
        mount: 'kv/aws',
        pathPrefix: '',
        timeoutMs: 100,
      });
      expect(config.vault.auth).toEqual({
        method: 'aws',
        mount: 'aws-prod',
        role: 'rotator',
        serverId: 'vault.example.com',
        stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
        stsRegion: 'eu-west-1',
      });
    });

    it('accepts a wait of exactly MAX_WAIT_SECONDS', () => {
      const config = loadConfig({ ...REQUIRED, ROTATOR_GRACE_SECONDS: String(MAX_WAIT_SECONDS) });
      expect(config.defaults.graceSeconds).toBe(MAX_WAIT_SECONDS);
    });
  });

  describe('deployment floors', () => {
    it.each([
      [
        { ROTATOR_GRACE_SECONDS: '0' },
        "ROTATOR_GRACE_SECONDS: graceSeconds 0 is below this deployment's minGraceSeconds 300",
      ],
      [
        { ROTATOR_RECOVERY_SECONDS: '900', ROTATOR_MIN_RECOVERY_SECONDS: '3600' },
        "ROTATOR_RECOVERY_SECONDS: recoverySeconds 900 is below this deployment's minRecoverySeconds 3600",
      ],
      [{ ROTATOR_OLD_KEY_IN_USE: 'proceed' }, 'ROTATOR_OLD_KEY_IN_USE: oldKeyInUse "proceed" is not allowed'],
    ])('throws ConfigurationError when the deployment default %j is below a floor', (env, message) => {
      const error = failureOf({ ...REQUIRED, ...env });
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain(message);
    });

    it.each([
      ['ROTATOR_MIN_GRACE_SECONDS', ''],
      ['ROTATOR_MIN_GRACE_SECONDS', '-1'],
      ['ROTATOR_MIN_RECOVERY_SECONDS', '1e3'],
      ['ROTATOR_MIN_RECOVERY_SECONDS', String(MAX_WAIT_SECONDS + 1)],
      ['ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED', 'yes'],
      ['ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED', ''],
      ['ROTATOR_ALLOW_VAULT_PATH_MOVE', 'yes'],
      ['ROTATOR_ALLOW_DELETE_INACTIVE_KEY', '1'],
    ])('throws ConfigurationError naming %s = %j instead of lowering the floor', (variable, value) => {
      const error = failureOf({ ...REQUIRED, [variable]: value });
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain(variable);
    });
  });

  describe('token auth', () => {
    it.each<[string, string, string, Record<string, string>]>([
      ['VAULT_TOKEN', 'an env', 'hvs.abcdefghijklmnop', { kind: 'env', value: 'hvs.abcdefghijklmnop' }],
      [
        'VAULT_TOKEN_SECRET_ID',
        'a Secrets Manager',
        'rotator/vault-token',
        { kind: 'secrets-manager', secretId: 'rotator/vault-token' },
      ],
      ['VAULT_TOKEN_PARAMETER', 'an SSM', '/rotator/token', { kind: 'ssm', parameter: '/rotator/token' }],
    ])('uses %s as %s token source', (variable, _source, value, token) => {
      const config = loadConfig({ ...REQUIRED, VAULT_AUTH_METHOD: 'token', [variable]: value });
      expect(config.vault.auth).toEqual({ method: 'token', token });
    });

    it('throws ConfigurationError when no token source is set', () => {
      const error = failureOf({ ...REQUIRED, VAULT_AUTH_METHOD: 'token', VAULT_TOKEN: '' });
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toMatch(/set exactly one/);
    });

    it('throws ConfigurationError without echoing the token when two token sources are set', () => {
      const token = 'hvs.SuperSecretTokenValue123';
      const error = failureOf({
        ...REQUIRED,
        VAULT_AUTH_METHOD: 'token',
        VAULT_TOKEN: token,
        VAULT_TOKEN_PARAMETER: '/rotator/token',
      });
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).not.toContain(token);
    });

    it('ignores token variables when the auth method is aws', () => {
      const config = loadConfig({
        ...REQUIRED,
        VAULT_TOKEN: 'hvs.abcdefghijklmnop',
        VAULT_TOKEN_PARAMETER: '/x',
      });
      expect(config.vault.auth.method).toBe('aws');
    });
  });

  describe('validation', () => {
    it('throws ConfigurationError naming every missing required variable', () => {
      const error = failureOf({});
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain('AWS_REGION');
      expect(error.message).toContain('ROTATOR_KMS_KEY_ID');
      expect(error.message).toContain('ROTATOR_PIN_KEY_ID');
      expect(error.message).toContain('ROTATOR_CLAIM_KEY_ID');
      expect(error.message).toContain('VAULT_ADDR');
    });

    it.each(['ROTATOR_PIN_KEY_ID', 'ROTATOR_CLAIM_KEY_ID'])(
      'throws ConfigurationError naming %s when it is missing or empty: the signed tags need their HMAC key',
      (name) => {
        const missing = Object.fromEntries(Object.entries(REQUIRED).filter(([key]) => key !== name));
        for (const env of [missing, { ...REQUIRED, [name]: '' }]) {
          const error = failureOf(env);
          expect(error.name).toBe('ConfigurationError');
          expect(error.message).toContain(name);
        }
      },
    );

    it.each(['yes', '1', 'TRUE '])(
      'throws ConfigurationError naming ROTATOR_ALLOW_VAULT_PATH_ADOPT when it is %j',
      (value) => {
        const error = failureOf({ ...REQUIRED, ROTATOR_ALLOW_VAULT_PATH_ADOPT: value });
        expect(error.name).toBe('ConfigurationError');
        expect(error.message).toContain('ROTATOR_ALLOW_VAULT_PATH_ADOPT');
      },
    );

    it.each([
      ['VAULT_ADDR', 'not a url'],
      ['VAULT_AUTH_METHOD', 'ldap'],
      ['VAULT_KV_MOUNT', '/secret/'],
      ['VAULT_PATH_PREFIX', 'aws/iam-users'],
      ['VAULT_PATH_PREFIX', '/aws/'],
      ['ROTATOR_GRACE_SECONDS', '-1'],
      ['ROTATOR_OLD_KEY_IN_USE', 'ignore'],
      ['ROTATOR_IN_USE_MAX_WAIT_SECONDS', String(MAX_WAIT_SECONDS + 1)],
      ['ROTATOR_GRACE_SECONDS', '1.5'],
      ['ROTATOR_RECOVERY_SECONDS', String(MAX_WAIT_SECONDS + 1)],
      ['VAULT_TIMEOUT_MS', '99'],
      ['ROTATOR_AWS_TIMEOUT_MS', '60001'],
      ['VAULT_AWS_STS_ENDPOINT', 'sts.amazonaws.com'],
    ])('throws ConfigurationError naming %s when it is %j', (name, value) => {
      const error = failureOf({ ...REQUIRED, [name]: value });
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain(name);
    });

    it('does not echo the rejected value in the message', () => {
      const error = failureOf({ ...REQUIRED, VAULT_ADDR: 'hvs-secret-looking-value' });
      expect(error.message).not.toContain('hvs-secret-looking-value');
    });
  });
});

describe('config', () => {
  it('reads process.env once and returns the same object afterwards', async () => {
    Object.assign(process.env, REQUIRED, {
      VAULT_AUTH_METHOD: 'aws',
      ROTATOR_GRACE_SECONDS: '30',
      ROTATOR_MIN_GRACE_SECONDS: '0',
    });
    const { config } = await import('../../../functions/commons/config.js');
    const first = config();
    process.env.ROTATOR_GRACE_SECONDS = '45';
    expect(config()).toBe(first);
    expect(config().defaults.graceSeconds).toBe(30);
  });

  it('throws ConfigurationError when process.env is invalid', async () => {
    vi.resetModules();
    delete process.env.ROTATOR_KMS_KEY_ID;
    const { config } = await import('../../../functions/commons/config.js');
    const error = await rejectionOf(Promise.resolve().then(() => config()));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('ROTATOR_KMS_KEY_ID');
  });
});
