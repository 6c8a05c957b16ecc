import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, redact } from '../../../functions/commons/logger.js';
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
  ])('masks a value under %j', (key) => {
    expect(redact(key, SECRET)).toBe('[REDACTED]');
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
