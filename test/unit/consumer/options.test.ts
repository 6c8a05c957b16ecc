import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialSource } from '../../../consumer/options.js';
import { DEFAULT_REFRESH_SECONDS } from '../../../functions/commons/credential-refresh.js';
import { ConfigurationError } from '../../../functions/commons/errors.js';

// Secrets that must never appear in a message, whatever is refused.
const TOKEN = 'hvs.CAESIconsumerTokenNeverPrinted0123456789';
const HELPER_TOKEN = 'hvs.CAESIhelperFileTokenNeverPrinted987654';
const SECRET_ID = '0f3c9e1a-secret-id-never-printed-5d7b';
const SECRETS = [TOKEN, HELPER_TOKEN, SECRET_ID];

const VAULT_PATH = 'aws/iam-users/ci-deployer';
const ADDR = 'https://vault.example.com:8200';
const env = (vars: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  VAULT_ADDR: ADDR,
  VAULT_TOKEN: TOKEN,
  ...vars,
});

/** The ConfigurationError credentialSource throws, after checking it names no secret. */
function refusal(options: unknown, vars: NodeJS.ProcessEnv): string {
  let thrown: unknown;
  try {
    credentialSource(options, vars);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  const message = (thrown as Error).message;
  for (const secret of SECRETS) expect(message).not.toContain(secret);
  return message;
}

let home: string;
beforeEach(() => {
  // An empty home: a developer's own ~/.vault-token must not decide these tests.
  home = mkdtempSync(join(tmpdir(), 'consumer-home-'));
  vi.stubEnv('HOME', home);
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

describe('credentialSource', () => {
  describe('defaults from the Vault CLI variables', () => {
    it('takes the address, namespace and token from VAULT_ADDR, VAULT_NAMESPACE and VAULT_TOKEN', () => {
      const source = credentialSource({ vaultPath: VAULT_PATH }, env({ VAULT_NAMESPACE: 'admin/team-a' }));
      expect(source.vaultPath).toBe(VAULT_PATH);
      expect(source.refreshSeconds).toBe(DEFAULT_REFRESH_SECONDS);
      expect(source.vault).toMatchObject({
        addr: ADDR,
        namespace: 'admin/team-a',
        mount: 'secret',
        kvVersion: 'auto',
        fields: { accessKeyId: 'access_key', secretAccessKey: 'secret_key' },
        timeoutMs: 5_000,
        auth: { method: 'token', token: { kind: 'env', value: TOKEN } },
        tls: { ca: undefined, clientCert: undefined, skipVerify: false },
      });
    });

    it('takes the CA bundle from VAULT_CACERT and the client certificate from VAULT_CLIENT_CERT/KEY', () => {
      const cert = join(home, 'client.pem');
      const key = join(home, 'client-key.pem');
      writeFileSync(cert, 'CERT PEM');
      writeFileSync(key, 'KEY PEM');
      const source = credentialSource(
        { vaultPath: VAULT_PATH },
        env({ VAULT_CACERT: '/etc/ssl/vault-ca.pem', VAULT_CLIENT_CERT: cert, VAULT_CLIENT_KEY: key }),
      );
      expect(source.vault.tls).toEqual({
        ca: { kind: 'file', path: '/etc/ssl/vault-ca.pem' },
        clientCert: { cert: 'CERT PEM', key: 'KEY PEM' },
        skipVerify: false,
      });
    });

    it('prefers options to the variables', () => {
      const source = credentialSource(
        {
          vaultPath: VAULT_PATH,
          address: 'https://vault.internal:8200',
          namespace: 'team-b',
          mount: 'kv/consumers',
          kvVersion: 1,
          accessKeyField: 'id',
          secretKeyField: 'secret',
          caCertFile: '/opt/ca.pem',
          refresh: 60,
          timeoutMs: 800,
        },
        env({ VAULT_NAMESPACE: 'team-a', VAULT_CACERT: '/etc/ssl/vault-ca.pem' }),
      );
      expect(source.refreshSeconds).toBe(60);
      expect(source.vault).toMatchObject({
        addr: 'https://vault.internal:8200',
        namespace: 'team-b',
        mount: 'kv/consumers',
        kvVersion: 1,
        fields: { accessKeyId: 'id', secretAccessKey: 'secret' },
        timeoutMs: 800,
        tls: { ca: { kind: 'file', path: '/opt/ca.pem' } },
      });
    });

    it('names an unreadable client certificate file by its path', () => {
      const missing = join(home, 'absent.pem');
      const message = refusal({ vaultPath: VAULT_PATH, clientCertFile: missing }, env());
      expect(message).toContain(missing);
      expect(message).toContain('ENOENT');
    });
  });

  describe('the address', () => {
    it('is required', () => {
      expect(refusal({ vaultPath: VAULT_PATH }, { VAULT_TOKEN: TOKEN })).toMatch(
        /no Vault address: set address or VAULT_ADDR/,
      );
    });

    it.each(['http://vault.example.com:8200', 'http://10.0.0.8:8200'])(
      'refuses plain http off loopback: %s',
      (address) => {
        expect(refusal({ vaultPath: VAULT_PATH, address }, env())).toMatch(
          /^the Vault address \(address, --vault-addr or VAULT_ADDR\) must be https:\/\//,
        );
      },
    );

    it.each(['http://127.0.0.1:8200', 'http://localhost:8200', 'http://[::1]:8200'])(
      'accepts plain http on loopback: %s',
      (address) => {
        expect(credentialSource({ vaultPath: VAULT_PATH, address }, env()).vault.addr).toBe(address);
      },
    );

    it('refuses an address carrying credentials without repeating them', () => {
      const message = refusal(
        { vaultPath: VAULT_PATH, address: `https://user:${TOKEN}@vault.example.com` },
        env(),
      );
      expect(message).toMatch(/may not carry credentials/);
    });

    it('names the address option when the URL does not parse', () => {
      expect(refusal({ vaultPath: VAULT_PATH, address: 'vault.example.com' }, env())).toMatch(
        /address \(VAULT_ADDR\)/,
      );
    });
  });

  describe('token auth', () => {
    it('reads the token from tokenFile when VAULT_TOKEN is unset', () => {
      const source = credentialSource(
        { vaultPath: VAULT_PATH, auth: { method: 'token', tokenFile: '/run/token' } },
        {
          VAULT_ADDR: ADDR,
        },
      );
      expect(source.vault.auth).toEqual({ method: 'token', token: { kind: 'file', path: '/run/token' } });
    });

    it('refuses tokenFile and VAULT_TOKEN together', () => {
      const message = refusal(
        { vaultPath: VAULT_PATH, auth: { method: 'token', tokenFile: '/run/token' } },
        env(),
      );
      expect(message).toMatch(/tokenFile and VAULT_TOKEN both set the Vault token/);
    });

    it('reads HOME for the home directory (what the tests below rely on)', () => {
      expect(homedir()).toBe(home);
    });

    it('refuses when no token is given and ~/.vault-token does not exist', () => {
      expect(refusal({ vaultPath: VAULT_PATH }, { VAULT_ADDR: ADDR })).toMatch(
        /no Vault token: set tokenFile or VAULT_TOKEN/,
      );
    });

    it('treats an empty VAULT_TOKEN as unset', () => {
      expect(refusal({ vaultPath: VAULT_PATH }, { VAULT_ADDR: ADDR, VAULT_TOKEN: '' })).toMatch(
        /no Vault token/,
      );
    });

    it('uses ~/.vault-token, as the Vault CLI leaves it, when neither is given', () => {
      writeFileSync(join(home, '.vault-token'), HELPER_TOKEN);
      const source = credentialSource({ vaultPath: VAULT_PATH }, { VAULT_ADDR: ADDR });
      expect(source.vault.auth).toEqual({
        method: 'token',
        token: { kind: 'file', path: join(home, '.vault-token') },
      });
    });

    it('prefers VAULT_TOKEN to ~/.vault-token', () => {
      writeFileSync(join(home, '.vault-token'), HELPER_TOKEN);
      expect(credentialSource({ vaultPath: VAULT_PATH }, env()).vault.auth).toEqual({
        method: 'token',
        token: { kind: 'env', value: TOKEN },
      });
    });
  });

  describe('approle auth', () => {
    const approle = { vaultPath: VAULT_PATH, auth: { method: 'approle' } };

    it('takes the role_id and secret_id from the environment, and the mount from auth.mount', () => {
      const source = credentialSource(
        { vaultPath: VAULT_PATH, auth: { method: 'approle', mount: 'approle-ci' } },
        { VAULT_ADDR: ADDR, VAULT_APPROLE_ROLE_ID: 'role-1', VAULT_APPROLE_SECRET_ID: SECRET_ID },
      );
      expect(source.vault.auth).toEqual({
        method: 'approle',
        mount: 'approle-ci',
        roleId: 'role-1',
        secretId: { kind: 'env', value: SECRET_ID },
      });
    });

    it('reads the secret_id from secretIdFile', () => {
      const source = credentialSource(
        { vaultPath: VAULT_PATH, auth: { method: 'approle', roleId: 'role-1', secretIdFile: '/run/sid' } },
        { VAULT_ADDR: ADDR },
      );
      expect(source.vault.auth).toMatchObject({
        roleId: 'role-1',
        secretId: { kind: 'file', path: '/run/sid' },
      });
    });

    it('needs a role_id', () => {
      expect(refusal(approle, { VAULT_ADDR: ADDR, VAULT_APPROLE_SECRET_ID: SECRET_ID })).toMatch(
        /no AppRole role_id: set auth.roleId or VAULT_APPROLE_ROLE_ID/,
      );
    });

    it('needs a secret_id', () => {
      expect(refusal(approle, { VAULT_ADDR: ADDR, VAULT_APPROLE_ROLE_ID: 'role-1' })).toMatch(
        /no AppRole secret_id: set secretIdFile or VAULT_APPROLE_SECRET_ID/,
      );
    });

    it('refuses two secret_id sources', () => {
      const message = refusal(
        { vaultPath: VAULT_PATH, auth: { method: 'approle', roleId: 'role-1', secretIdFile: '/run/sid' } },
        { VAULT_ADDR: ADDR, VAULT_APPROLE_SECRET_ID: SECRET_ID },
      );
      expect(message).toMatch(/secretIdFile and VAULT_APPROLE_SECRET_ID both set the AppRole secret_id/);
    });

    it('ignores VAULT_TOKEN, which is for token auth', () => {
      const source = credentialSource(
        approle,
        env({ VAULT_APPROLE_ROLE_ID: 'role-1', VAULT_APPROLE_SECRET_ID: SECRET_ID }),
      );
      expect(source.vault.auth.method).toBe('approle');
    });
  });

  describe('aws auth', () => {
    it('needs a role', () => {
      expect(refusal({ vaultPath: VAULT_PATH, auth: { method: 'aws' } }, env())).toMatch(/auth\.role/);
    });

    it("defaults the server id to Vault's host name and takes the STS endpoint and region", () => {
      const source = credentialSource(
        {
          vaultPath: VAULT_PATH,
          auth: {
            method: 'aws',
            role: 'ci',
            stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
            stsRegion: 'eu-west-1',
          },
        },
        env(),
      );
      expect(source.vault.auth).toEqual({
        method: 'aws',
        mount: 'aws',
        role: 'ci',
        serverId: 'vault.example.com',
        stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
        stsRegion: 'eu-west-1',
      });
    });

    it('names auth.stsEndpoint when it is no URL', () => {
      expect(
        refusal({ vaultPath: VAULT_PATH, auth: { method: 'aws', role: 'ci', stsEndpoint: 'sts' } }, env()),
      ).toMatch(/auth\.stsEndpoint/);
    });
  });

  describe('strict options', () => {
    it('refuses an unknown option without repeating its value', () => {
      const message = refusal({ vaultPath: VAULT_PATH, token: TOKEN }, env());
      expect(message).toBe('invalid options: Unrecognized key: "token"');
    });

    it("refuses an option of another auth method (a token in approle's options)", () => {
      const message = refusal(
        { vaultPath: VAULT_PATH, auth: { method: 'approle', roleId: 'role-1', secretId: SECRET_ID } },
        env(),
      );
      expect(message).toMatch(/invalid options: auth/);
    });

    it('refuses an unknown auth method', () => {
      expect(refusal({ vaultPath: VAULT_PATH, auth: { method: 'kubernetes' } }, env())).toMatch(
        /auth\.method/,
      );
    });

    it('refuses options that are not an object', () => {
      expect(refusal(VAULT_PATH, env())).toMatch(/invalid options/);
    });
  });

  describe('refresh', () => {
    it.each([1, 43_200])('accepts %i seconds', (refresh) => {
      expect(credentialSource({ vaultPath: VAULT_PATH, refresh }, env()).refreshSeconds).toBe(refresh);
    });

    it.each([0, -5, 43_201])('refuses %i seconds, naming refresh', (refresh) => {
      expect(refusal({ vaultPath: VAULT_PATH, refresh }, env())).toMatch(/invalid options: refresh/);
    });

    it.each([99, 60_001, 250.5])('refuses a timeoutMs of %d', (timeoutMs) => {
      expect(refusal({ vaultPath: VAULT_PATH, timeoutMs }, env())).toMatch(/invalid options: timeoutMs/);
    });
  });

  describe('vaultPath', () => {
    it.each([
      ['empty', ''],
      ['with ..', 'aws/../root'],
      ['with .', 'aws/./x'],
      ['with a leading slash', '/aws/iam-users/ci'],
      ['with a trailing slash', 'aws/iam-users/'],
      ['with //', 'aws//ci'],
      ['with a space', 'aws/ci deployer'],
      ['longer than 256', `aws/${'x'.repeat(253)}`],
    ])('refuses a path %s', (_, vaultPath) => {
      expect(refusal({ vaultPath }, env())).toMatch(/invalid options: vaultPath/);
    });

    it('is required', () => {
      expect(refusal({}, env())).toMatch(/invalid options: vaultPath/);
    });

    it('accepts a path outside the rotator prefix (the consumer reads where it is told)', () => {
      expect(credentialSource({ vaultPath: 'team-a/ci@prod' }, env()).vaultPath).toBe('team-a/ci@prod');
    });
  });

  describe('namespace', () => {
    it('trims one leading and trailing slash, as Vault does', () => {
      expect(
        credentialSource({ vaultPath: VAULT_PATH, namespace: '/admin/team-a/' }, env()).vault.namespace,
      ).toBe('admin/team-a');
    });

    it.each(['root', 'admin/sys', 'a//b', 'team a'])('refuses %j', (namespace) => {
      expect(refusal({ vaultPath: VAULT_PATH, namespace }, env())).toMatch(/must be a Vault namespace path/);
    });

    it('treats an empty namespace as the root namespace', () => {
      expect(
        credentialSource({ vaultPath: VAULT_PATH, namespace: '' }, env({ VAULT_NAMESPACE: 'team-a' })).vault
          .namespace,
      ).toBeUndefined();
    });
  });

  describe('VAULT_SKIP_VERIFY', () => {
    it('is refused off loopback', () => {
      expect(refusal({ vaultPath: VAULT_PATH }, env({ VAULT_SKIP_VERIFY: 'true' }))).toMatch(
        /VAULT_SKIP_VERIFY is only accepted for a Vault on 127\.0\.0\.0\/8/,
      );
    });

    it('is accepted on loopback', () => {
      const source = credentialSource(
        { vaultPath: VAULT_PATH, address: 'https://127.0.0.1:8200' },
        env({ VAULT_SKIP_VERIFY: 'true' }),
      );
      expect(source.vault.tls.skipVerify).toBe(true);
    });

    it('refuses a value other than true or false, naming it', () => {
      expect(refusal({ vaultPath: VAULT_PATH }, env({ VAULT_SKIP_VERIFY: '1' }))).toMatch(
        /invalid options: VAULT_SKIP_VERIFY/,
      );
    });
  });

  describe('VAULT_CAPATH', () => {
    it('is refused without a CA file: ignored, the system CAs would be trusted instead of its own', () => {
      expect(refusal({ vaultPath: VAULT_PATH }, env({ VAULT_CAPATH: '/etc/vault/cas' }))).toBe(
        'VAULT_CAPATH (a directory of CA certificates) is not supported: set VAULT_CACERT or caCertFile to a PEM bundle',
      );
    });

    it('does not apply beside a CA file, as for the Vault CLI (the file wins)', () => {
      for (const [options, vars] of [
        [{ caCertFile: '/opt/ca.pem' }, { VAULT_CAPATH: '/etc/vault/cas' }],
        [{}, { VAULT_CAPATH: '/etc/vault/cas', VAULT_CACERT: '/opt/ca.pem' }],
      ] as const) {
        const source = credentialSource({ vaultPath: VAULT_PATH, ...options }, env(vars));
        expect(source.vault.tls.ca).toEqual({ kind: 'file', path: '/opt/ca.pem' });
      }
    });

    it('empty is unset', () => {
      expect(
        credentialSource({ vaultPath: VAULT_PATH }, env({ VAULT_CAPATH: '' })).vault.tls.ca,
      ).toBeUndefined();
    });
  });

  describe('fields and mount', () => {
    it('names accessKeyField and mount when they are not names Vault paths take', () => {
      expect(refusal({ vaultPath: VAULT_PATH, accessKeyField: 'a b' }, env())).toMatch(/accessKeyField/);
      expect(refusal({ vaultPath: VAULT_PATH, mount: 'kv/../sys' }, env())).toMatch(/: mount/);
    });
  });
});
