import { conditionKeys, field, stringMap, type Access, type JsonAccess } from './access.js';
import { parseBlob } from './kms-crypto.js';
import { keyArn, resolveKey } from './kms-keys.js';
import type { AwsState } from './state.js';

/** kms:EncryptionContext:<key> for each pair, and kms:EncryptionContextKeys (absent without a context). */
function encryptionContextKeys(input: unknown): Record<string, string | string[]> {
  const context = stringMap(input, 'EncryptionContext') ?? {};
  const keys = Object.keys(context);
  return {
    ...Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
    ...(keys.length > 0 ? { 'kms:EncryptionContextKeys': keys } : {}),
  };
}

const onKey = (state: AwsState, action: string, arn: string, extra = {}): Access => ({
  action,
  resource: arn,
  shown: arn,
  context: conditionKeys(extra),
});

/** A key named by the input (resolving aliases); the operation reports a missing or unknown one. */
function namedKey(action: string, withContext: boolean): JsonAccess {
  return (input, { state }) => {
    const keyId = field(input, 'KeyId');
    if (keyId === undefined) return [];
    return [
      onKey(state, action, resolveKey(state, keyId).arn, withContext ? encryptionContextKeys(input) : {}),
    ];
  };
}

/** A MAC operation on the key named: kms:MacAlgorithm is its condition key, as in AWS. */
function macOnKey(action: string): JsonAccess {
  return (input, { state }) => {
    const keyId = field(input, 'KeyId');
    if (keyId === undefined) return [];
    const algorithm = field(input, 'MacAlgorithm');
    return [
      onKey(state, action, resolveKey(state, keyId).arn, algorithm ? { 'kms:MacAlgorithm': algorithm } : {}),
    ];
  };
}

/** The IAM action, resource and condition keys of every emulated KMS operation. */
export const kmsAccess: ReadonlyMap<string, JsonAccess> = new Map<string, JsonAccess>([
  ['CreateKey', (_input, { state }) => [onKey(state, 'kms:CreateKey', '*')]],
  ['DescribeKey', namedKey('kms:DescribeKey', false)],
  [
    'CreateAlias',
    (input, { state }) => {
      const alias = field(input, 'AliasName');
      return alias === undefined
        ? []
        : [onKey(state, 'kms:CreateAlias', `arn:aws:kms:${state.region}:${state.accountId}:${alias}`)];
    },
  ],
  ['Encrypt', namedKey('kms:Encrypt', true)],
  [
    'Decrypt',
    (input, { state }) => {
      // The key is the one the ciphertext names; a blob naming none is refused by the operation.
      const blob = field(input, 'CiphertextBlob');
      const parsed = blob === undefined ? undefined : parseBlob(Buffer.from(blob, 'base64'));
      if (parsed === undefined || !state.kmsKeys.has(parsed.keyId)) return [];
      return [onKey(state, 'kms:Decrypt', keyArn(state, parsed.keyId), encryptionContextKeys(input))];
    },
  ],
  ['GenerateMac', macOnKey('kms:GenerateMac')],
  ['VerifyMac', macOnKey('kms:VerifyMac')],
]);
