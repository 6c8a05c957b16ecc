import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, redact } from '../../../functions/commons/logger.js';
import { fingerprint } from '../../../functions/commons/redact.js';
import { SECRET } from '../support.js';

const stringify = (value: unknown) => JSON.stringify(value, redact);

describe('redact', () => {
  it.each([
    'secretAccessKey',
    'secret_key',
    'SecretAccessKey',
    'token',
    'clientToken',
    'X-Vault-Token',
    'password',
    'authorization',
    'Authorization',
    'ciphertext',
    'plaintext',
    'secret_id',
  ])('masks a value under %j (a long one by its fingerprint)', (key) => {
    expect(redact(key, SECRET)).toBe(fingerprint(SECRET));
    expect(redact(key, 'short')).toBe('[REDACTED]');
  });

  it.each(['accessKeyId', 'userName', 'message', 'vaultPath', 'version'])('keeps a value under %j', (key) => {
    expect(redact(key, 'AKIAEXAMPLE')).toBe('AKIAEXAMPLE');
  });

  it('masks numbers and booleans under secret-looking keys, but not null', () => {
    expect(redact('token', 12345)).toBe('[REDACTED]');
    expect(redact('password', true)).toBe('[REDACTED]');
    expect(redact('token', null)).toBeNull();
  });

  it('leaves the root value alone', () => {
    expect(redact('', 'whole entry')).toBe('whole entry');
  });

  it('masks nested secret fields when used as a JSON replacer, keeping ids', () => {
    const text = stringify({
      key: { accessKeyId: 'AKIANEW', secretAccessKey: SECRET },
      sealedSecret: { ciphertext: 'c2VhbGVk' },
      headers: { 'X-Vault-Token': 'hvs.abcdefghijklmnop' },
    });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('c2VhbGVk');
    expect(text).not.toContain('hvs.abcdefghijklmnop');
    expect(text).toContain('AKIANEW');
  });
});

describe('logger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** What the logger writes to stdout and stderr while `log` runs. */
  function capture(log: () => void): { stdout: string; stderr: string } {
    const out = { stdout: '', stderr: '' };
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.stderr += String(chunk);
      return true;
    });
    log();
    return out;
  }

  it('writes one JSON line per entry with level, message, timestamp, service and the attributes', () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    vi.stubEnv(
      '_X_AMZN_TRACE_ID',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    );
    const { stdout, stderr } = capture(() => logger.info('created access key', { accessKeyId: 'AKIANEW' }));
    expect(stderr).toBe('');
    expect(stdout.endsWith('\n')).toBe(true);
    expect(JSON.parse(stdout)).toEqual({
      level: 'INFO',
      message: 'created access key',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      service: 'iam-key-rotator',
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      accessKeyId: 'AKIANEW',
    });
  });

  it('writes warnings to stderr', () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const { stdout, stderr } = capture(() => logger.warn('old key still in use; waiting'));
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toMatchObject({ level: 'WARN', message: 'old key still in use; waiting' });
  });

  it('keeps below the level Lambda’s log settings or POWERTOOLS_LOG_LEVEL set, Lambda’s first', () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
    expect(capture(() => logger.info('x')).stdout).toBe('');
    expect(capture(() => logger.warn('y')).stderr).toContain('"y"');
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', 'info');
    expect(capture(() => logger.info('z')).stdout).toContain('"z"');
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', 'SILENT');
    expect(capture(() => logger.warn('w')).stderr).toBe('');
  });

  it('goes through the global console in POWERTOOLS_DEV mode, where the local stack captures it', () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    const lines: string[] = [];
    vi.spyOn(console, 'info').mockImplementation((line: string) => lines.push(line));
    vi.spyOn(console, 'warn').mockImplementation((line: string) => lines.push(line));
    const { stdout, stderr } = capture(() => {
      logger.info('a', { token: 'hvs.secret' });
      logger.warn('b');
    });
    expect(stdout + stderr).toBe('');
    expect(lines.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(['a', 'b']);
    expect(lines.join('')).not.toContain('hvs.secret');
  });

  it('writes JSON lines with secret-looking keys masked', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    logger.info('stored key', {
      accessKeyId: 'AKIANEW',
      secretAccessKey: SECRET,
      nested: { token: 'hvs.x' },
    });
    const output = lines.join('');
    expect(output).toContain('AKIANEW');
    expect(output).toContain('iam-key-rotator');
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('hvs.x');
  });
});
