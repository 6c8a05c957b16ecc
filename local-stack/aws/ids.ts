import { randomBytes, randomInt, randomUUID } from 'node:crypto';

// AWS identifiers use the RFC 4648 base32 alphabet after their four-letter prefix.
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += BASE32.charAt(randomInt(BASE32.length));
  return out;
}

/** A long-term IAM user key id: AKIA + 16 characters. */
export const newAccessKeyId = (): string => 'AKIA' + base32(16);

/** A temporary (STS) key id: ASIA + 16 characters. */
export const newSessionKeyId = (): string => 'ASIA' + base32(16);

/** 40 characters of the base64 alphabet, like a real secret access key. */
export const newSecretAccessKey = (): string => randomBytes(30).toString('base64');

export const newSessionToken = (): string => randomBytes(96).toString('base64');

export const newUserId = (): string => 'AIDA' + base32(17);

export const newRoleId = (): string => 'AROA' + base32(17);

export const newRequestId = (): string => randomUUID();

export const newKmsKeyId = (): string => randomUUID();

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The six random characters Secrets Manager appends to a secret's name in its ARN. */
export function newSecretSuffix(): string {
  let out = '';
  for (let i = 0; i < 6; i += 1) out += ALPHANUMERIC.charAt(randomInt(ALPHANUMERIC.length));
  return out;
}

/** A version id when the caller sends no ClientRequestToken (the SDK always sends one). */
export const newVersionId = (): string => randomUUID();
