import { createHash } from 'node:crypto';

/**
 * The one redaction of everything the rotator prints or logs (the CLI's JSON, the progress view, the
 * handlers' log lines): task tokens, ciphertexts, Vault tokens, secret ids, secret access keys.
 */
const SECRET_FIELD = /secret|token|password|authorization|ciphertext|plaintext|sealed|credential/i;

/**
 * What looks secret in free text: Vault service, batch and recovery tokens (and the older `s.`
 * tokens), and base64 runs longer than any id, name, path or S3 key here (task tokens, KMS
 * ciphertexts).
 */
const SECRET_TEXT = /\b(?:hv[sbr]\.[A-Za-z0-9_-]{8,}|s\.[A-Za-z0-9]{24}\b)|[A-Za-z0-9+/=_-]{160,}/g;

/** Step Functions history fields holding JSON documents as strings (input, output, parameters, cause). */
const JSON_TEXT_FIELD = /^(input|output|parameters|cause|result|error)$/i;

/**
 * `sha256:<12 hex>`: tells two values apart (same token, same ciphertext) without revealing either;
 * only for long values, whose fingerprint can't be guessed back.
 */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

const masked = (value: unknown): unknown =>
  typeof value === 'string' && value.length >= 16 ? fingerprint(value) : '[REDACTED]';

/** An API action counted by name (`secretsmanager:GetSecretValue`, `vault:kv-write`): no secret field. */
const ACTION_NAME = /^[a-z0-9-]+:[A-Za-z-]+$/;

/**
 * A field whose value is masked: its name looks secret (the root, '', is no field), unless it is an
 * action's name holding a call count (a number is no secret; `aws:SecretAccessKey: "…"` is masked).
 */
export const isSecretField = (key: string, value?: unknown): boolean =>
  key !== '' && SECRET_FIELD.test(key) && !(ACTION_NAME.test(key) && typeof value === 'number');

/** Free text with any Vault token in it replaced. */
export function redactText(text: string): string {
  return text.replace(SECRET_TEXT, (secret) => fingerprint(secret));
}

/** A JSON.stringify replacer: masks whatever sits under a secret-looking key (null and undefined stay). */
export function redact(key: string, value: unknown): unknown {
  if (isSecretField(key, value) && value !== null && value !== undefined) return masked(value);
  return typeof value === 'string' ? redactText(value) : value;
}

/** A JSON document held in a string, redacted and serialized again; other text, with its tokens replaced. */
function redactJsonText(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redactText(text);
  }
  if (parsed === null || typeof parsed !== 'object') return redactText(text);
  return JSON.stringify(redactDeep(parsed));
}

/**
 * A copy of `value` with every secret-looking field masked, going into the JSON documents that
 * history events (and Lambda errors' causes) carry as strings.
 */
export function redactDeep(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value;
  if (isSecretField(key, value)) return masked(value);
  if (typeof value === 'string') return JSON_TEXT_FIELD.test(key) ? redactJsonText(value) : redactText(value);
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item));
  if (typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, k)]));
  return value;
}
