import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REFRESH_SECONDS } from '../../functions/commons/credential-refresh.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { uniquePath, useVault } from '../local-stack/vault/helpers.js';

// `iam-key-rotator credentials` as credential_process runs it: the SDK reads stdout as the document
// and shows stderr to people, so a failure must print nothing on stdout and one line on stderr.
const vault = useVault();
const BIN = 'bin/iam-key-rotator.mjs';
const KEY = { access_key: 'AKIACONSUMERTEST0001', secret_key: 'consumer/Secret+Key0000000000000000000001' };
const NEW_KEY = {
  access_key: 'AKIACONSUMERTEST0002',
  secret_key: 'consumer/Secret+Key0000000000000000000002',
};
// A token Vault never issued, shaped like one it would.
const UNKNOWN_TOKEN = 'hvs.CAESIunknownConsumerToken00000000';

let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'consumer-home-'));
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

/** Only what the test sets: none of the developer's VAULT_* variables or ~/.vault-token. */
function consumerEnv(addr: string, token: string): NodeJS.ProcessEnv {
  return {
    VAULT_ADDR: addr,
    VAULT_TOKEN: token,
    VAULT_NAMESPACE: undefined,
    VAULT_CACERT: undefined,
    VAULT_CAPATH: undefined,
    VAULT_CLIENT_CERT: undefined,
    VAULT_CLIENT_KEY: undefined,
    VAULT_SKIP_VERIFY: undefined,
    VAULT_APPROLE_ROLE_ID: undefined,
    VAULT_APPROLE_SECRET_ID: undefined,
    HOME: home,
  };
}

/** A token that may read `paths` (KV v2 data paths under secret/) and nothing else. */
function readToken(name: string, paths: string[]): string {
  const hcl = paths.map((path) => `path "secret/data/${path}" {\n  capabilities = ["read"]\n}\n`).join('');
  vault().putPolicy(name, hcl);
  return vault().createToken({ policies: [name] });
}

/** A loopback port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port was bound');
  return address.port;
}

/** Checks the failure contract and returns the one stderr line. */
function failure(run: { code: number; stdout: string; stderr: string }, token: string): string {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr.endsWith('\n')).toBe(true);
  const lines = run.stderr.split('\n').slice(0, -1);
  expect(lines).toHaveLength(1);
  expect(run.stderr).not.toContain(token);
  expect(run.stderr).not.toContain(KEY.secret_key);
  return lines[0] ?? '';
}

const credentials = (args: string[], env: NodeJS.ProcessEnv) =>
  runCliInProcess(['credentials', ...args], { env });

describe('iam-key-rotator credentials', () => {
  describe('success', () => {
    it("prints Vault's current key as a credential_process document expiring after --refresh", async () => {
      const path = uniquePath();
      vault().writeSecret({ mount: 'secret', path, data: KEY });
      vault().writeSecret({ mount: 'secret', path, data: NEW_KEY });
      const token = readToken('reader-success', [path]);
      const before = Date.now();
      const run = await credentials(
        ['--vault-path', path, '--refresh', '120'],
        consumerEnv(vault().addr, token),
      );
      const after = Date.now();

      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout.endsWith('}\n')).toBe(true);
      const document = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(Object.keys(document).sort()).toEqual([
        'AccessKeyId',
        'Expiration',
        'SecretAccessKey',
        'Version',
      ]);
      expect(document).toMatchObject({
        Version: 1,
        AccessKeyId: NEW_KEY.access_key,
        SecretAccessKey: NEW_KEY.secret_key,
      });
      const expiration = String(document.Expiration);
      expect(expiration).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      const at = Date.parse(expiration);
      expect(at).toBeGreaterThanOrEqual(before + 120_000);
      expect(at).toBeLessThanOrEqual(after + 120_000);
      expect(run.stdout).not.toContain(token);
    });

    it('expires after the default refresh when --refresh is not given', async () => {
      const path = uniquePath();
      vault().writeSecret({ mount: 'secret', path, data: KEY });
      const before = Date.now();
      const run = await credentials(['--vault-path', path], consumerEnv(vault().addr, vault().rootToken));
      const document = JSON.parse(run.stdout) as { Expiration: string };
      expect(Date.parse(document.Expiration) - before).toBeGreaterThanOrEqual(DEFAULT_REFRESH_SECONDS * 1000);
      expect(Date.parse(document.Expiration) - Date.now()).toBeLessThanOrEqual(
        DEFAULT_REFRESH_SECONDS * 1000,
      );
    });

    it.each([
      ['detected', []],
      ['given with --kv-version 1', ['--kv-version', '1']],
    ])('reads a KV v1 mount, its version %s', async (_, flags) => {
      vault().enableKv('kv', 1);
      const path = uniquePath();
      vault().writeSecret({ mount: 'kv', path, data: KEY });
      vault().putPolicy(
        `kv1-${path.replaceAll('/', '-')}`,
        `path "kv/${path}" {\n  capabilities = ["read"]\n}\n`,
      );
      const token = vault().createToken({ policies: [`kv1-${path.replaceAll('/', '-')}`] });
      const run = await credentials(
        ['--vault-path', path, '--mount', 'kv', ...flags],
        consumerEnv(vault().addr, token),
      );
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject({
        Version: 1,
        AccessKeyId: KEY.access_key,
        SecretAccessKey: KEY.secret_key,
      });
    });
  });

  describe('failures: exit 1, nothing on stdout, one line on stderr naming what failed', () => {
    it('a path holding no key: NoKeyAtPathError naming the path and address', async () => {
      const path = uniquePath('absent');
      const token = readToken('reader-absent', [path]);
      const line = failure(
        await credentials(['--vault-path', path], consumerEnv(vault().addr, token)),
        token,
      );
      expect(line).toBe(
        `iam-key-rotator credentials: NoKeyAtPathError: secret/${path} at ${vault().addr} holds no key`,
      );
    });

    it('a path whose current version was deleted: NoKeyAtPathError', async () => {
      const path = uniquePath('deleted');
      vault().writeSecret({ mount: 'secret', path, data: KEY });
      const admin = await fetch(`${vault().addr}/v1/secret/data/${path}`, {
        method: 'DELETE',
        headers: { 'X-Vault-Token': vault().rootToken },
      });
      expect(admin.status).toBe(204);
      const token = readToken('reader-deleted', [path]);
      const line = failure(
        await credentials(['--vault-path', path], consumerEnv(vault().addr, token)),
        token,
      );
      expect(line).toContain(`NoKeyAtPathError: secret/${path} at ${vault().addr} holds no key`);
    });

    it('an unreachable Vault: VaultUnavailableError naming the address', async () => {
      const addr = `http://127.0.0.1:${await closedPort()}`;
      const line = failure(
        await credentials(
          ['--vault-path', 'app/ci', '--timeout-ms', '500'],
          consumerEnv(addr, UNKNOWN_TOKEN),
        ),
        UNKNOWN_TOKEN,
      );
      expect(line).toMatch(
        new RegExp(
          `^iam-key-rotator credentials: reading secret/app/ci at ${addr}: VaultUnavailableError: .*ECONNREFUSED$`,
        ),
      );
    });

    it('a token Vault does not know: VaultPermissionDeniedError, the token not shown', async () => {
      const path = uniquePath();
      vault().writeSecret({ mount: 'secret', path, data: KEY });
      const line = failure(
        await credentials(['--vault-path', path], consumerEnv(vault().addr, UNKNOWN_TOKEN)),
        UNKNOWN_TOKEN,
      );
      expect(line).toMatch(
        new RegExp(
          `^iam-key-rotator credentials: reading secret/${path} at ${vault().addr}: VaultPermissionDeniedError: .*HTTP 403`,
        ),
      );
    });

    it("a token whose policy covers another path: VaultPermissionDeniedError on the path's read", async () => {
      const path = uniquePath();
      vault().writeSecret({ mount: 'secret', path, data: KEY });
      const token = readToken('reader-elsewhere', [uniquePath('elsewhere')]);
      const line = failure(
        await credentials(['--vault-path', path], consumerEnv(vault().addr, token)),
        token,
      );
      expect(line).toBe(
        `iam-key-rotator credentials: reading secret/${path} at ${vault().addr}: VaultPermissionDeniedError: ` +
          `Vault GET secret/data/${path} failed (HTTP 403): permission denied`,
      );
    });

    it('a token whose policies reach nothing under the mount: VaultPermissionDeniedError', async () => {
      const path = uniquePath();
      vault().writeSecret({ mount: 'secret', path, data: KEY });
      const token = vault().createToken({ policies: ['default'] });
      const line = failure(
        await credentials(['--vault-path', path], consumerEnv(vault().addr, token)),
        token,
      );
      expect(line).toMatch(
        /: VaultPermissionDeniedError: Vault GET sys\/internal\/ui\/mounts\/secret failed \(HTTP 403\)/,
      );
    });

    it('a token on the command line: refused before any request, its value not repeated', async () => {
      vault().traffic.resetCalls();
      const line = failure(
        await credentials(
          ['--vault-path', 'app/ci', `--token=${UNKNOWN_TOKEN}`],
          consumerEnv(vault().addr, ''),
        ),
        UNKNOWN_TOKEN,
      );
      expect(line).toMatch(/^iam-key-rotator credentials: ConfigurationError: --token is refused/);
      expect(vault().traffic.calls()).toEqual({});
    });
  });

  it('as a process: exit 1, stdout empty and one line on stderr for a path holding no key', async () => {
    const path = uniquePath('spawned');
    const token = readToken('reader-spawned', [path]);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...consumerEnv(vault().addr, token) };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [BIN, 'credentials', '--vault-path', path],
        { env, timeout: 20_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `iam-key-rotator credentials: NoKeyAtPathError: secret/${path} at ${vault().addr} holds no key\n`,
    );
    expect(result.stderr).not.toContain(token);
  });

  it('refuses a loop: --auth aws whose credential chain is a profile running this command', async () => {
    vault().traffic.resetCalls();
    const home = mkdtempSync(join(tmpdir(), 'credentials-loop-'));
    const config = join(home, 'config');
    const command = `${process.execPath} ${resolve(BIN)} credentials --auth aws --role consumer --vault-path a/b`;
    writeFileSync(config, `[profile loop]\nregion = us-east-1\ncredential_process = ${command}\n`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      VAULT_ADDR: vault().addr,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      AWS_PROFILE: 'loop',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [BIN, 'credentials', '--auth', 'aws', '--role', 'consumer', '--vault-path', 'a/b'],
        { env, timeout: 30_000 },
        (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      );
    });
    rmSync(home, { recursive: true, force: true });
    // The profile's own run (the chain's credential_process) refused at once, so this one ends too.
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(/AwsRequestError: credentials failed: .*loop/),
      '',
    ]);
    expect(vault().traffic.calls()).toEqual({});
  });
});
