import { describe, expect, it } from 'vitest';
import { optionsFromFlags } from '../../../consumer/credentials-command.js';
import { ConfigurationError } from '../../../functions/commons/errors.js';

const SECRET = 'hvs.CAESIflagValueNeverPrinted0123456789';

/** The ConfigurationError optionsFromFlags throws, after checking it does not repeat the secret. */
function refusal(args: string[]): string {
  let thrown: unknown;
  try {
    optionsFromFlags(args);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  const message = (thrown as Error).message;
  expect(message).not.toContain(SECRET);
  return message;
}

describe('optionsFromFlags', () => {
  it('maps every connection flag to its option', () => {
    expect(
      optionsFromFlags([
        '--vault-path',
        'aws/iam-users/ci',
        '--vault-addr',
        'https://vault.example.com',
        '--namespace',
        'admin/team-a',
        '--mount',
        'kv',
        '--kv-version',
        '1',
        '--access-key-field',
        'id',
        '--secret-key-field',
        'secret',
        '--ca-cert',
        '/etc/ca.pem',
        '--client-cert',
        '/etc/cert.pem',
        '--client-key',
        '/etc/key.pem',
        '--refresh',
        '120',
        '--timeout-ms',
        '500',
      ]),
    ).toEqual({
      vaultPath: 'aws/iam-users/ci',
      address: 'https://vault.example.com',
      namespace: 'admin/team-a',
      mount: 'kv',
      kvVersion: 1,
      accessKeyField: 'id',
      secretKeyField: 'secret',
      auth: { method: 'token' },
      caCertFile: '/etc/ca.pem',
      clientCertFile: '/etc/cert.pem',
      clientKeyFile: '/etc/key.pem',
      refresh: 120,
      timeoutMs: 500,
    });
  });

  it('takes token auth by default, and --token-file', () => {
    expect(optionsFromFlags(['--vault-path', 'p', '--token-file', '/run/token'])).toEqual({
      vaultPath: 'p',
      auth: { method: 'token', tokenFile: '/run/token' },
    });
  });

  it('maps the approle flags', () => {
    expect(
      optionsFromFlags([
        '--vault-path=p',
        '--auth=approle',
        '--role-id=r-1',
        '--secret-id-file=/run/sid',
        '--auth-mount=approle-ci',
      ]),
    ).toEqual({
      vaultPath: 'p',
      auth: { method: 'approle', roleId: 'r-1', secretIdFile: '/run/sid', mount: 'approle-ci' },
    });
  });

  it('maps the aws flags', () => {
    expect(
      optionsFromFlags([
        '--vault-path',
        'p',
        '--auth',
        'aws',
        '--role',
        'ci',
        '--server-id',
        '',
        '--sts-endpoint',
        'https://sts.eu-west-1.amazonaws.com',
        '--sts-region',
        'eu-west-1',
      ]),
    ).toEqual({
      vaultPath: 'p',
      auth: {
        method: 'aws',
        role: 'ci',
        serverId: '',
        stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
        stsRegion: 'eu-west-1',
      },
    });
  });

  it.each([
    ['2', 2],
    ['auto', 'auto'],
  ])('maps --kv-version %s', (flag, kvVersion) => {
    expect(optionsFromFlags(['--vault-path', 'p', '--kv-version', flag])).toMatchObject({ kvVersion });
  });

  describe('secrets on the command line', () => {
    it.each([
      [['--token', SECRET]],
      [[`--token=${SECRET}`]],
      [['--secret-id', SECRET]],
      [[`--secret-id=${SECRET}`]],
      [['--vault-token', SECRET]],
    ])('refuses %j naming the flag, not the value', (flags) => {
      const message = refusal(['--vault-path', 'p', ...flags]);
      expect(message).toMatch(/^--(token|secret-id|vault-token) is refused: a secret on the command line/);
    });

    it('refuses a secret flag even after --help', () => {
      expect(refusal(['--help', `--token=${SECRET}`])).toMatch(/--token is refused/);
    });
  });

  describe('flags that cannot apply', () => {
    it.each([
      [['--auth', 'approle', '--token-file', '/run/token'], '--token-file does not apply to --auth approle'],
      [
        ['--token-file', '/run/token', '--auth', 'aws', '--role', 'ci'],
        '--token-file does not apply to --auth aws',
      ],
      [['--role-id', 'r-1'], '--role-id does not apply to --auth token'],
      [['--secret-id-file', '/run/sid'], '--secret-id-file does not apply to --auth token'],
      [['--auth', 'approle', '--role', 'ci'], '--role does not apply to --auth approle'],
      [['--auth', 'aws', '--role', 'ci', '--role-id', 'r-1'], '--role-id does not apply to --auth aws'],
      [['--auth-mount', 'approle'], '--auth-mount does not apply to --auth token'],
      [['--sts-region', 'eu-west-1'], '--sts-region does not apply to --auth token'],
    ])('refuses %j', (flags, expected) => {
      expect(refusal(['--vault-path', 'p', ...flags])).toBe(expected);
    });
  });

  describe('bad usage', () => {
    it('refuses an unknown flag', () => {
      expect(refusal(['--vault-path', 'p', '--vault-namespace', 'x'])).toMatch(/--vault-namespace/);
    });

    it('refuses a positional argument without repeating it (a secret_id typed without its flag)', () => {
      const secretId = '0f3c9e1a-5d7b-4e2a-9c1f-positional00';
      for (const args of [
        ['--vault-path', 'p', secretId],
        ['--vault-path', 'p', '--', secretId],
      ]) {
        const message = refusal(args);
        expect(message).toBe(
          'unexpected argument (not repeated here): this command takes flags only, see --help',
        );
        expect(message).not.toContain(secretId);
      }
    });

    it('refuses a flag without its value', () => {
      expect(refusal(['--vault-path'])).toMatch(/--vault-path/);
    });

    it('needs --vault-path', () => {
      expect(refusal(['--vault-addr', 'https://vault.example.com'])).toBe('--vault-path is required');
    });

    it('refuses an unknown --auth', () => {
      expect(refusal(['--vault-path', 'p', '--auth', 'kubernetes'])).toBe(
        '--auth takes token, approle or aws, got "kubernetes"',
      );
    });

    it('refuses an unknown --kv-version', () => {
      expect(refusal(['--vault-path', 'p', '--kv-version', '3'])).toBe(
        '--kv-version takes 1, 2 or auto, got "3"',
      );
    });

    it.each(['1.5', '-1', '10s', '', '1e3'])('refuses --refresh=%j', (value) => {
      expect(refusal(['--vault-path', 'p', `--refresh=${value}`])).toBe(
        `--refresh takes whole numbers, got ${JSON.stringify(value)}`,
      );
    });

    it('refuses a --timeout-ms that is no whole number', () => {
      expect(refusal(['--vault-path', 'p', '--timeout-ms', '0.5'])).toMatch(
        /^--timeout-ms takes whole numbers/,
      );
    });
  });

  it.each([[['--help']], [['-h']], [['--vault-path', 'p', '--help']]])('answers help for %j', (args) => {
    expect(optionsFromFlags(args)).toBe('help');
  });
});
