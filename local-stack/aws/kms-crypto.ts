import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Ciphertext blob layout: version (1) | key-id length (1) | key id | IV (12) | GCM tag (16) | data.
 * The key id travels in the blob so Decrypt works without a KeyId, as in real KMS.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type EncryptionContext = Record<string, string>;

export const newKeyMaterial = (bytes = 32): Buffer => randomBytes(bytes);

// The context is authenticated, not encrypted; sorting makes {a,b} and {b,a} the same AAD, as in KMS.
function contextAad(context: EncryptionContext | undefined): Buffer {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

export function seal(
  keyId: string,
  material: Buffer,
  plaintext: Buffer,
  context?: EncryptionContext,
): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(contextAad(context));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION, id.length]), id, iv, cipher.getAuthTag(), data]);
}

interface ParsedBlob {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/** Splits a blob, or returns undefined if it is not one of ours. */
export function parseBlob(blob: Buffer): ParsedBlob | undefined {
  const idLength = blob[1];
  if (blob[0] !== VERSION || idLength === undefined) return undefined;
  const ivStart = 2 + idLength;
  const tagStart = ivStart + IV_BYTES;
  const dataStart = tagStart + TAG_BYTES;
  if (blob.length < dataStart) return undefined;
  return {
    keyId: blob.subarray(2, ivStart).toString('utf8'),
    iv: blob.subarray(ivStart, tagStart),
    tag: blob.subarray(tagStart, dataStart),
    data: blob.subarray(dataStart),
  };
}

/** Decrypts and authenticates; undefined if the blob or the context does not match. */
export function open(parsed: ParsedBlob, material: Buffer, context?: EncryptionContext): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, parsed.iv);
    decipher.setAAD(contextAad(context));
    decipher.setAuthTag(parsed.tag);
    return Buffer.concat([decipher.update(parsed.data), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** RFC 2104 HMAC of `message` with an HMAC key's material; `bits` is the hash's (224..512). */
export const hmac = (material: Buffer, bits: number, message: Buffer): Buffer =>
  createHmac(`sha${bits}`, material).update(message).digest();

/** Whether `mac` is the message's HMAC, compared in constant time. */
export function macMatches(material: Buffer, bits: number, message: Buffer, mac: Buffer): boolean {
  const expected = hmac(material, bits, message);
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}
