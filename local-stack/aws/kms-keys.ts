import { AwsServiceError } from './errors.js';
import { newKmsKeyId } from './ids.js';
import { newKeyMaterial } from './kms-crypto.js';
import type { AwsState, KmsKey } from './state.js';

/** The key specs the emulator makes: the symmetric encryption key and the four HMAC keys. */
export const KEY_SPECS = ['SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

/** KeyUsageType in the KMS model; only ENCRYPT_DECRYPT and GENERATE_VERIFY_MAC keys are emulated. */
export const KEY_USAGES = [
  'ENCRYPT_DECRYPT',
  'SIGN_VERIFY',
  'GENERATE_VERIFY_MAC',
  'KEY_AGREEMENT',
  'ENCAPSULATE_DECAPSULATE',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

const ENCRYPTION_ALGORITHM = 'SYMMETRIC_DEFAULT';

/** The only usage a spec allows, and its key material's size (an HMAC key's is its hash's). */
export const usageOf = (spec: KeySpec): KeyUsage =>
  spec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : 'GENERATE_VERIFY_MAC';
const materialBytes = (spec: KeySpec): number =>
  spec === 'SYMMETRIC_DEFAULT' ? 32 : Number(spec.slice('HMAC_'.length)) / 8;

/** The one MAC algorithm of an HMAC key (HMAC_256 → HMAC_SHA_256). */
export const macAlgorithmOf = (spec: KeySpec): MacAlgorithm | undefined =>
  spec === 'SYMMETRIC_DEFAULT' ? undefined : (`HMAC_SHA_${spec.slice('HMAC_'.length)}` as MacAlgorithm);

export const keyArn = (state: AwsState, keyId: string): string =>
  `arn:aws:kms:${state.region}:${state.accountId}:key/${keyId}`;

/** Resolves a key id, key ARN, alias name or alias ARN. */
export function resolveKey(state: AwsState, reference: string): KmsKey {
  const alias = reference.startsWith('alias/')
    ? reference
    : /^arn:aws:kms:[^:]*:\d{12}:(alias\/.+)$/.exec(reference)?.[1];
  if (alias !== undefined) {
    const target = state.aliases.get(alias);
    const key = target === undefined ? undefined : state.kmsKeys.get(target);
    if (!key) {
      throw new AwsServiceError(
        'NotFoundException',
        `Alias arn:aws:kms:${state.region}:${state.accountId}:${alias} is not found.`,
      );
    }
    return key;
  }
  const keyId = /^arn:aws:kms:[^:]*:\d{12}:key\/(.+)$/.exec(reference)?.[1] ?? reference;
  const key = state.kmsKeys.get(keyId);
  if (!key) throw new AwsServiceError('NotFoundException', `Key '${keyArn(state, keyId)}' does not exist`);
  return key;
}

/** Refuses a key whose usage is not the operation's, in KMS's words. */
export function requireUsage(key: KmsKey, usage: KeyUsage, operation: string): void {
  const actual = usageOf(key.spec);
  if (actual !== usage) {
    throw new AwsServiceError(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ${actual} which is not valid for ${operation}.`,
    );
  }
}

export function addKey(state: AwsState, description: string, spec: KeySpec, awsManaged = false): KmsKey {
  const keyId = newKmsKeyId();
  const key: KmsKey = {
    keyId,
    arn: keyArn(state, keyId),
    spec,
    material: newKeyMaterial(materialBytes(spec)),
    createDate: new Date(),
    description,
    ...(awsManaged ? { awsManaged } : {}),
  };
  state.kmsKeys.set(keyId, key);
  return key;
}

/**
 * The AWS managed key behind `alias` (e.g. alias/aws/ssm), created on first use as AWS does.
 * Callers cannot make alias/aws/* aliases themselves (CreateAlias refuses them).
 */
export function awsManagedKey(state: AwsState, alias: string, description: string): KmsKey {
  const existing = state.aliases.get(alias);
  const key = existing === undefined ? undefined : state.kmsKeys.get(existing);
  if (key) return key;
  const created = addKey(state, description, 'SYMMETRIC_DEFAULT', true);
  state.aliases.set(alias, created.keyId);
  return created;
}

export function keyMetadata(state: AwsState, key: KmsKey): Record<string, unknown> {
  const mac = macAlgorithmOf(key.spec);
  return {
    AWSAccountId: state.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    // awsJson encodes timestamps as epoch seconds.
    CreationDate: key.createDate.getTime() / 1000,
    Enabled: true,
    Description: key.description,
    KeyUsage: usageOf(key.spec),
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: key.awsManaged === true ? 'AWS' : 'CUSTOMER',
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    ...(mac === undefined ? { EncryptionAlgorithms: [ENCRYPTION_ALGORITHM] } : { MacAlgorithms: [mac] }),
    MultiRegion: false,
  };
}
