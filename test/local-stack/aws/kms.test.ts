import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { clients, failure, useEmulator } from './helpers.js';

const emulator = useEmulator();
const secret = new TextEncoder().encode('current-secret-value');

async function newKey(): Promise<string> {
  const { KeyMetadata } = await clients(emulator()).kms.send(
    new CreateKeyCommand({ Description: 'vault token' }),
  );
  return KeyMetadata?.KeyId ?? '';
}

describe('KMS over awsJson1_1', () => {
  it('creates and describes a symmetric key', async () => {
    const { kms } = clients(emulator());
    const created = await kms.send(new CreateKeyCommand({ Description: 'vault token' }));
    expect(created.KeyMetadata).toMatchObject({
      KeyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      Arn: `arn:aws:kms:us-east-1:123456789012:key/${created.KeyMetadata?.KeyId ?? ''}`,
      Description: 'vault token',
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
    });
    expect(created.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    const described = await kms.send(new DescribeKeyCommand({ KeyId: created.KeyMetadata?.Arn }));
    expect(described.KeyMetadata?.KeyId).toBe(created.KeyMetadata?.KeyId);
  });

  it('decrypts with the same encryption context, in any key order, and without a KeyId', async () => {
    const { kms } = clients(emulator());
    const keyId = await newKey();
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: secret,
        EncryptionContext: { user: 'alice', purpose: 'rotation' },
      }),
    );
    expect(CiphertextBlob).toBeInstanceOf(Uint8Array);
    const decrypted = await kms.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'rotation', user: 'alice' } }),
    );
    expect(new TextDecoder().decode(decrypted.Plaintext)).toBe('current-secret-value');
    expect(decrypted.KeyId).toBe(`arn:aws:kms:us-east-1:123456789012:key/${keyId}`);
  });

  it('answers InvalidCiphertextException (400) for a different or missing encryption context', async () => {
    const { kms } = clients(emulator());
    const keyId = await newKey();
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: secret, EncryptionContext: { user: 'alice' } }),
    );
    const wrong = await failure(
      kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { user: 'bob' } })),
    );
    expect(wrong.name).toBe('InvalidCiphertextException');
    expect(wrong.$metadata?.httpStatusCode).toBe(400);
    const missing = await failure(kms.send(new DecryptCommand({ CiphertextBlob })));
    expect(missing.name).toBe('InvalidCiphertextException');
  });

  it('answers IncorrectKeyException when Decrypt names another key', async () => {
    const { kms } = clients(emulator());
    const [first, second] = [await newKey(), await newKey()];
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: first, Plaintext: secret }));
    const error = await failure(kms.send(new DecryptCommand({ CiphertextBlob, KeyId: second })));
    expect(error.name).toBe('IncorrectKeyException');
  });

  it('encrypts through an alias and answers NotFoundException for unknown keys', async () => {
    const { kms } = clients(emulator());
    const keyId = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/rotator', TargetKeyId: keyId }));
    const { KeyId } = await kms.send(new EncryptCommand({ KeyId: 'alias/rotator', Plaintext: secret }));
    expect(KeyId).toContain(keyId);
    const error = await failure(kms.send(new EncryptCommand({ KeyId: 'alias/missing', Plaintext: secret })));
    expect(error.name).toBe('NotFoundException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});
