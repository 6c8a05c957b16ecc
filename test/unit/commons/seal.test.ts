import { DecryptCommand, EncryptCommand, IncorrectKeyException } from '@aws-sdk/client-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SealContext, seal, unseal } from '../../../functions/commons/seal.js';
import {
  installFakeKms,
  KMS_KEY_ID,
  mockKms,
  rejectionOf,
  resetBeforeEach,
  SECRET,
  sdkError,
  setAwsAuthEnv,
} from '../support.js';

const kms = resetBeforeEach(mockKms());

const context: SealContext = {
  execution: 'arn:aws:states:eu-west-1:123456789012:execution:rotate:run-1',
  userName: 'alice',
  accessKeyId: 'AKIANEW',
  purpose: 'new-secret',
};

beforeAll(() => {
  setAwsAuthEnv({ ROTATOR_KMS_KEY_ID: KMS_KEY_ID });
});

describe('seal', () => {
  it('encrypts under the configured key with an encryption context binding execution, user, key and purpose', async () => {
    installFakeKms(kms);
    await seal(SECRET, context);
    const input = kms.commandCalls(EncryptCommand)[0]?.args[0].input;
    expect(input?.KeyId).toBe(KMS_KEY_ID);
    expect(Buffer.from(input?.Plaintext ?? new Uint8Array()).toString('utf8')).toBe(SECRET);
    expect(input?.EncryptionContext).toEqual({
      'iam-key-rotator:execution': context.execution,
      'iam-key-rotator:user': 'alice',
      'iam-key-rotator:access-key-id': 'AKIANEW',
      'iam-key-rotator:purpose': 'new-secret',
    });
  });

  it('returns base64 ciphertext that does not contain the secret', async () => {
    installFakeKms(kms);
    const sealed = await seal(SECRET, context);
    expect(Object.keys(sealed)).toEqual(['ciphertext']);
    expect(sealed.ciphertext).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.stringify(sealed)).not.toContain(SECRET);
  });

  it('throws AwsUnavailableError when KMS throttles', async () => {
    kms.on(EncryptCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(seal(SECRET, context));
    expect(error.name).toBe('AwsUnavailableError');
    expect(error.message).not.toContain(SECRET);
  });

  it('throws AwsRequestError when KMS denies the call', async () => {
    kms.on(EncryptCommand).rejects(sdkError('AccessDeniedException', 400));
    expect((await rejectionOf(seal(SECRET, context))).name).toBe('AwsRequestError');
  });

  it('throws AwsRequestError when KMS answers without ciphertext', async () => {
    kms.on(EncryptCommand).resolves({});
    expect((await rejectionOf(seal(SECRET, context))).name).toBe('AwsRequestError');
  });
});

describe('unseal', () => {
  it('returns the plaintext of a secret sealed under the same context', async () => {
    installFakeKms(kms);
    const sealed = await seal(SECRET, context);
    await expect(unseal(sealed, context)).resolves.toBe(SECRET);
    expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input.KeyId).toBe(KMS_KEY_ID);
  });

  it.each([
    ['execution', { execution: 'arn:aws:states:eu-west-1:123456789012:execution:rotate:run-2' }],
    ['user', { userName: 'bob' }],
    ['access key id', { accessKeyId: 'AKIAOTHER' }],
    ['purpose', { purpose: 'previous-secret' as const }],
  ])('throws SealedSecretError when the %s differs', async (_what, change) => {
    installFakeKms(kms);
    const sealed = await seal(SECRET, context);
    const error = await rejectionOf(unseal(sealed, { ...context, ...change }));
    expect(error.name).toBe('SealedSecretError');
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(sealed.ciphertext);
  });

  it('throws SealedSecretError when KMS answers IncorrectKeyException', async () => {
    kms
      .on(DecryptCommand)
      .rejects(new IncorrectKeyException({ message: 'wrong key', $metadata: { httpStatusCode: 400 } }));
    const error = await rejectionOf(unseal({ ciphertext: 'AAAA' }, context));
    expect(error.name).toBe('SealedSecretError');
    expect(error.message).toContain('AKIANEW');
  });

  it('throws AwsUnavailableError when KMS is failing', async () => {
    kms.on(DecryptCommand).rejects(sdkError('KMSInternalException', 500));
    expect((await rejectionOf(unseal({ ciphertext: 'AAAA' }, context))).name).toBe('AwsUnavailableError');
  });

  it('throws AwsRequestError when KMS answers without plaintext', async () => {
    kms.on(DecryptCommand).resolves({});
    expect((await rejectionOf(unseal({ ciphertext: 'AAAA' }, context))).name).toBe('AwsRequestError');
  });
});
