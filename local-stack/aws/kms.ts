import { z } from 'zod';
import type { JsonHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { parseInput } from './json-input.js';
import { open, parseBlob, seal } from './kms-crypto.js';
import {
  addKey,
  KEY_SPECS,
  KEY_USAGES,
  keyMetadata,
  requireUsage,
  resolveKey,
  usageOf,
  type KeySpec,
} from './kms-keys.js';
import { kmsMacActions } from './kms-mac.js';

const ALGORITHM = 'SYMMETRIC_DEFAULT';
const MAX_PLAINTEXT_BYTES = 4096;

const Base64 = z.base64();
const Context = z.record(z.string(), z.string()).optional();
const Algorithm = z.literal(ALGORITHM).optional();

// Only symmetric encryption and HMAC keys are emulated; other fields KMS accepts are ignored.
const CreateKeyInput = z.looseObject({
  Description: z.string().max(8192).optional(),
  KeyUsage: z.enum(KEY_USAGES).optional(),
  KeySpec: z.enum(KEY_SPECS).optional(),
  // The deprecated name of KeySpec.
  CustomerMasterKeySpec: z.enum(KEY_SPECS).optional(),
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

/** The spec of the key CreateKey makes: KMS refuses a usage the spec does not allow (HMAC needs its usage named). */
function createdSpec(input: z.infer<typeof CreateKeyInput>): KeySpec {
  if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
    throw new AwsServiceError(
      'ValidationException',
      'You cannot specify KeySpec and CustomerMasterKeySpec in the same request.',
    );
  }
  const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
  const usage = input.KeyUsage ?? 'ENCRYPT_DECRYPT';
  if (usageOf(spec) !== usage) {
    throw new AwsServiceError(
      'ValidationException',
      `KeyUsage ${usage} is not compatible with KeySpec ${spec}`,
    );
  }
  return spec;
}

// KMS sends InvalidCiphertextException without a message.
const invalidCiphertext = (): AwsServiceError => new AwsServiceError('InvalidCiphertextException', '', 400);

export const kmsActions: ReadonlyMap<string, JsonHandler> = new Map<string, JsonHandler>([
  [
    'CreateKey',
    (input, { state }) => {
      const parsed = parseInput(CreateKeyInput, input);
      const key = addKey(state, parsed.Description ?? '', createdSpec(parsed));
      return { KeyMetadata: keyMetadata(state, key) };
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
      requireUsage(key, 'ENCRYPT_DECRYPT', 'Encrypt');
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
      const named = KeyId === undefined ? undefined : resolveKey(state, KeyId);
      if (named) requireUsage(named, 'ENCRYPT_DECRYPT', 'Decrypt');
      if (named && named.keyId !== key.keyId) {
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
  ...kmsMacActions,
]);
