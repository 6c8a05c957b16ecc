import { Logger } from '@aws-lambda-powertools/logger';

const SECRET_KEYS = /secret|token|password|authorization|ciphertext|plaintext|secret_id/i;

/** Masks whatever sits under a secret-looking key, anywhere in a log entry. */
export function redact(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_KEYS.test(key) && value !== null && value !== undefined) return '[REDACTED]';
  return value;
}

/** The one logger of every handler: JSON lines with secret-looking keys masked. */
export const logger = new Logger({
  serviceName: 'iam-key-rotator',
  jsonReplacerFn: redact,
});
