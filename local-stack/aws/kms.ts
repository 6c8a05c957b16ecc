import { z } from 'zod';
import type { JsonHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { newKmsKeyId } from './ids.js';
import { parseInput } from './json-input.js';
import { newKeyMaterial, open, parseBlob, seal } from './kms-crypto.js';
import type { AwsState, KmsKey } from './state.js';

const ALGORITHM = 'SYMMETRIC_DEFAULT';
const MAX_PLAINTEXT_BYTES = 4096;

const Base64 = z.base64();
const Context = z.record(z.string(), z.string()).optional();
const Algorithm = z.literal(ALGORITHM).optional();

// Only symmetric encryption keys are emulated; other fields KMS accepts are ignored.
const CreateKeyInput = z.looseObject({
  Description: z.string().max(8192).optional(),
  KeyUsage: z.literal('ENCRYPT_DECRYPT').optional(),
  KeySpec: z.literal(ALGORITHM).optional(),
});
const EncryptInput = z.looseObject({
  KeyId: z.string().min(1),
  Plaintext: Base64,
  EncryptionContext: Context,
  EncryptionAlgorithm: Algorithm,
});
const DecryptInput = z.looseObject({
  CiphertextBlob: Base64,
  KeyId: z.string().min(1).optional(),
  EncryptionContext: Context,
  EncryptionAlgorithm: Algorithm,
});
const DescribeKeyInput = z.looseObject({ KeyId: z.string().min(1) });
const CreateAliasInput = z.looseObject({
  AliasName: z.string().regex(/^alias\/[a-zA-Z0-9/_-]{1,250}$/),
  TargetKeyId: z.string().min(1),
});

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

function addKey(state: AwsState, description: string, awsManaged = false): KmsKey {
  const keyId = newKmsKeyId();
  const key: KmsKey = {
    keyId,
    arn: keyArn(state, keyId),
    material: newKeyMaterial(),
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
  const created = addKey(state, description, true);
  state.aliases.set(alias, created.keyId);
  return created;
}

const keyMetadata = (state: AwsState, key: KmsKey): Record<string, unknown> => ({
  AWSAccountId: state.accountId,
  KeyId: key.keyId,
  Arn: key.arn,
  // awsJson encodes timestamps as epoch seconds.
  CreationDate: key.createDate.getTime() / 1000,
  Enabled: true,
  Description: key.description,
  KeyUsage: 'ENCRYPT_DECRYPT',
  KeyState: 'Enabled',
  Origin: 'AWS_KMS',
  KeyManager: key.awsManaged === true ? 'AWS' : 'CUSTOMER',
  CustomerMasterKeySpec: ALGORITHM,
  KeySpec: ALGORITHM,
  EncryptionAlgorithms: [ALGORITHM],
  MultiRegion: false,
});

// KMS sends InvalidCiphertextException without a message.
const invalidCiphertext = (): AwsServiceError => new AwsServiceError('InvalidCiphertextException', '', 400);

export const kmsActions: ReadonlyMap<string, JsonHandler> = new Map<string, JsonHandler>([
  [
    'CreateKey',
    (input, { state }) => {
      const { Description } = parseInput(CreateKeyInput, input);
      return { KeyMetadata: keyMetadata(state, addKey(state, Description ?? '')) };
    },
  ],
  [
    'DescribeKey',
    (input, { state }) => ({
      KeyMetadata: keyMetadata(state, resolveKey(state, parseInput(DescribeKeyInput, input).KeyId)),
    }),
  ],
  [
    'CreateAlias',
    (input, { state }) => {
      const { AliasName, TargetKeyId } = parseInput(CreateAliasInput, input);
      if (AliasName.startsWith('alias/aws/')) {
        throw new AwsServiceError(
          'NotAuthorizedException',
          'Aliases beginning with alias/aws/ are reserved for AWS.',
        );
      }
      if (state.aliases.has(AliasName)) {
        throw new AwsServiceError(
          'AlreadyExistsException',
          `An alias with the name arn:aws:kms:${state.region}:${state.accountId}:${AliasName} already exists`,
        );
      }
      state.aliases.set(AliasName, resolveKey(state, TargetKeyId).keyId);
      return {};
    },
  ],
  [
    'Encrypt',
    (input, { state }) => {
      const { KeyId, Plaintext, EncryptionContext } = parseInput(EncryptInput, input);
      const plaintext = Buffer.from(Plaintext, 'base64');
      if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT_BYTES) {
        throw new AwsServiceError(
          'ValidationException',
          `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and ${MAX_PLAINTEXT_BYTES}`,
        );
      }
      const key = resolveKey(state, KeyId);
      const blob = seal(key.keyId, key.material, plaintext, EncryptionContext);
      return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: ALGORITHM };
    },
  ],
  [
    'Decrypt',
    (input, { state }) => {
      const { CiphertextBlob, KeyId, EncryptionContext } = parseInput(DecryptInput, input);
      const parsed = parseBlob(Buffer.from(CiphertextBlob, 'base64'));
      const key = parsed === undefined ? undefined : state.kmsKeys.get(parsed.keyId);
      if (parsed === undefined || key === undefined) throw invalidCiphertext();
      if (KeyId !== undefined && resolveKey(state, KeyId).keyId !== key.keyId) {
        throw new AwsServiceError(
          'IncorrectKeyException',
          'The key ID in the request does not identify a CMK that can perform this operation.',
        );
      }
      const plaintext = open(parsed, key.material, EncryptionContext);
      if (plaintext === undefined) throw invalidCiphertext();
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: ALGORITHM };
    },
  ],
]);
