import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  VerifyMacCommand,
  type KeySpec,
} from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { clients, failure, roleSession, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();
const message = new TextEncoder().encode('["iam-key-rotator/pin/v1","123456789012","AIDA","/team/app"]');

afterEach(() => emulator().traffic.clearFaults());

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

  describe('GenerateMac and VerifyMac', () => {
    it('verify the MAC GenerateMac made, through the key ARN or an alias', async () => {
      const { kms } = clients(emulator());
      const keyArn = await hmacKey();
      const alias = `alias/${uniqueName('pin')}`;
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
      const generated = await kms.send(
        new GenerateMacCommand({ KeyId: alias, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
      );
      expect(generated).toMatchObject({ KeyId: keyArn, MacAlgorithm: 'HMAC_SHA_256' });
      expect(generated.Mac).toHaveLength(32);
      const verified = await kms.send(
        new VerifyMacCommand({
          KeyId: keyArn,
          Message: message,
          Mac: generated.Mac,
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      );
      expect(verified).toMatchObject({ KeyId: keyArn, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' });
    });

    it('answers KMSInvalidMacException (400) for a changed message, a changed MAC or another key', async () => {
      const { kms } = clients(emulator());
      const keyArn = await hmacKey();
      const { Mac } = await kms.send(
        new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
      );
      const verify = (KeyId: string, signed: Uint8Array, mac: Uint8Array | undefined) =>
        failure(
          kms.send(new VerifyMacCommand({ KeyId, Message: signed, Mac: mac, MacAlgorithm: 'HMAC_SHA_256' })),
        );
      const tampered = await verify(keyArn, new TextEncoder().encode('["iam-key-rotator/pin/v1","x"]'), Mac);
      expect(tampered.name).toBe('KMSInvalidMacException');
      expect(tampered.$metadata?.httpStatusCode).toBe(400);
      const flipped = Uint8Array.from(Mac ?? [], (byte, i) => (i === 0 ? byte ^ 1 : byte));
      expect((await verify(keyArn, message, flipped)).name).toBe('KMSInvalidMacException');
      expect((await verify(keyArn, message, Mac?.subarray(0, 16))).name).toBe('KMSInvalidMacException');
      expect((await verify(await hmacKey(), message, Mac)).name).toBe('KMSInvalidMacException');
    });

    it('computes each HMAC spec with its own algorithm and refuses another with InvalidKeyUsageException', async () => {
      const { kms } = clients(emulator());
      const keyArn = await hmacKey('HMAC_512');
      const { Mac } = await kms.send(
        new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_512' }),
      );
      expect(Mac).toHaveLength(64);
      const wrong = await failure(
        kms.send(new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' })),
      );
      expect(wrong.name).toBe('InvalidKeyUsageException');
      expect(wrong.$metadata?.httpStatusCode).toBe(400);
    });

    it('refuses an encryption key with InvalidKeyUsageException', async () => {
      const { kms } = clients(emulator());
      const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';
      const error = await failure(
        kms.send(new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' })),
      );
      expect(error.name).toBe('InvalidKeyUsageException');
      expect(error.message).toBe(
        `${keyArn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.`,
      );
    });

    it('refuses a message over 4096 bytes or empty with ValidationException', async () => {
      const { kms } = clients(emulator());
      const keyArn = await hmacKey();
      for (const size of [4097, 0]) {
        const error = await failure(
          kms.send(
            new GenerateMacCommand({
              KeyId: keyArn,
              Message: new Uint8Array(size),
              MacAlgorithm: 'HMAC_SHA_256',
            }),
          ),
        );
        expect(error.name).toBe('ValidationException');
        expect(error.message).toContain("at 'message'");
      }
      await expect(
        kms.send(
          new GenerateMacCommand({
            KeyId: keyArn,
            Message: new Uint8Array(4096),
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
      ).resolves.toBeDefined();
    });

    it('answers NotFoundException for an unknown key', async () => {
      const error = await failure(
        clients(emulator()).kms.send(
          new GenerateMacCommand({
            KeyId: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
            Message: message,
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
      );
      expect(error.name).toBe('NotFoundException');
      expect(error.$metadata?.httpStatusCode).toBe(400);
    });

    it('answers DryRunOperationException (412) for a dry run that would succeed', async () => {
      const error = await failure(
        clients(emulator()).kms.send(
          new GenerateMacCommand({
            KeyId: await hmacKey(),
            Message: message,
            MacAlgorithm: 'HMAC_SHA_256',
            DryRun: true,
          }),
        ),
      );
      expect(error.name).toBe('DryRunOperationException');
      expect(error.$metadata?.httpStatusCode).toBe(412);
    });

    it("denies a role whose policy lacks kms:GenerateMac, naming the action, and allows the role's kms:VerifyMac", async () => {
      const keyArn = await hmacKey();
      const { Mac } = await clients(emulator()).kms.send(
        new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
      );
      const { name, credentials } = await roleSession(emulator(), [
        { Effect: 'Allow', Action: 'kms:VerifyMac', Resource: keyArn },
      ]);
      const { kms } = clients(emulator(), credentials);
      await expect(
        kms.send(
          new VerifyMacCommand({ KeyId: keyArn, Message: message, Mac, MacAlgorithm: 'HMAC_SHA_256' }),
        ),
      ).resolves.toMatchObject({ MacValid: true });
      const error = await failure(
        kms.send(new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' })),
      );
      expect(error.name).toBe('AccessDeniedException');
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toBe(
        `User: arn:aws:sts::123456789012:assumed-role/${name}/session is not authorized to perform: ` +
          `kms:GenerateMac on resource: ${keyArn} because no identity-based policy allows the kms:GenerateMac action`,
      );
      const otherKey = await hmacKey();
      const elsewhere = await failure(
        kms.send(
          new VerifyMacCommand({ KeyId: otherKey, Message: message, Mac, MacAlgorithm: 'HMAC_SHA_256' }),
        ),
      );
      expect(elsewhere.message).toContain(`kms:VerifyMac on resource: ${otherKey}`);
    });

    it('answers an injected fault on GenerateMac, then works again', async () => {
      const { kms } = clients(emulator());
      const keyArn = await hmacKey();
      const generate = () =>
        kms.send(new GenerateMacCommand({ KeyId: keyArn, Message: message, MacAlgorithm: 'HMAC_SHA_256' }));
      emulator().traffic.addFault('kms:GenerateMac:ThrottlingExceptionx1');
      const throttled = await failure(generate());
      expect(throttled.name).toBe('ThrottlingException');
      emulator().traffic.addFault('kms:VerifyMac:500x1');
      const { Mac } = await generate();
      const failed = await failure(
        kms.send(
          new VerifyMacCommand({ KeyId: keyArn, Message: message, Mac, MacAlgorithm: 'HMAC_SHA_256' }),
        ),
      );
      expect(failed.name).toBe('KMSInternalException');
      expect(failed.$metadata?.httpStatusCode).toBe(500);
    });
  });
});
