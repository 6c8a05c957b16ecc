import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  type KeySpec,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { clients, failure, useEmulator } from './helpers.js';

const emulator = useEmulator();

async function hmacKey(spec: KeySpec = 'HMAC_256'): Promise<string> {
  const { KeyMetadata } = await clients(emulator()).kms.send(
    new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' }),
  );
  return KeyMetadata?.Arn ?? '';
}

describe('KMS HMAC keys', () => {
  describe('CreateKey', () => {
    it.each(['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const)(
      'creates a %s key that DescribeKey shows with its MAC algorithm',
      async (spec) => {
        const { kms } = clients(emulator());
        const described = await kms.send(new DescribeKeyCommand({ KeyId: await hmacKey(spec) }));
        expect(described.KeyMetadata).toMatchObject({
          KeySpec: spec,
          KeyUsage: 'GENERATE_VERIFY_MAC',
          MacAlgorithms: [spec.replace('HMAC_', 'HMAC_SHA_')],
          KeyState: 'Enabled',
        });
        expect(described.KeyMetadata?.EncryptionAlgorithms).toBeUndefined();
      },
    );

    it.each([
      ['an HMAC spec with ENCRYPT_DECRYPT', { KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' }],
      ['an HMAC spec without a usage', { KeySpec: 'HMAC_256' }],
      ['GENERATE_VERIFY_MAC without an HMAC spec', { KeyUsage: 'GENERATE_VERIFY_MAC' }],
    ] as const)('refuses %s with ValidationException', async (_name, input) => {
      const error = await failure(clients(emulator()).kms.send(new CreateKeyCommand(input)));
      expect(error.name).toBe('ValidationException');
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toMatch(/^KeyUsage \w+ is not compatible with KeySpec \w+$/);
    });
  });

  describe('Encrypt and Decrypt', () => {
    it('refuse an HMAC key with InvalidKeyUsageException', async () => {
      const { kms } = clients(emulator());
      const keyId = await hmacKey();
      const encrypt = await failure(
        kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode('s') })),
      );
      expect(encrypt.name).toBe('InvalidKeyUsageException');
      expect(encrypt.message).toBe(
        `${keyId} key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.`,
      );
      const sealingKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId;
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: sealingKey, Plaintext: new TextEncoder().encode('s') }),
      );
      const decrypt = await failure(kms.send(new DecryptCommand({ CiphertextBlob, KeyId: keyId })));
      expect(decrypt.name).toBe('InvalidKeyUsageException');
    });
  });
});
