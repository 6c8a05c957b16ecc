import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { awsFailure, errorCode } from './aws.js';
import { kmsClient } from './clients/kms.js';
import { config } from './config.js';
import { SealedSecretError } from './errors.js';

/** A secret encrypted under the rotator's KMS key; safe to carry in state. */
export interface Sealed {
  ciphertext: string;
}

/**
 * What a sealed secret is bound to. KMS refuses to decrypt under any other context, so a
 * ciphertext copied from one execution or user cannot be replayed in another.
 */
export interface SealContext {
  execution: string;
  userName: string;
  accessKeyId: string;
  purpose: 'new-secret' | 'previous-secret';
}

function encryptionContext(context: SealContext): Record<string, string> {
  return {
    'iam-key-rotator:execution': context.execution,
    'iam-key-rotator:user': context.userName,
    'iam-key-rotator:access-key-id': context.accessKeyId,
    'iam-key-rotator:purpose': context.purpose,
  };
}

/** Encrypts a secret with KMS under the given context. */
export async function seal(plaintext: string, context: SealContext): Promise<Sealed> {
  try {
    const out = await kmsClient().send(
      new EncryptCommand({
        KeyId: config().kmsKeyId,
        Plaintext: Buffer.from(plaintext, 'utf8'),
        EncryptionContext: encryptionContext(context),
      }),
    );
    if (!out.CiphertextBlob) throw new Error('response without CiphertextBlob');
    return { ciphertext: Buffer.from(out.CiphertextBlob).toString('base64') };
  } catch (error) {
    throw awsFailure('kms:Encrypt', error);
  }
}

/** Decrypts a sealed secret; throws SealedSecretError when the context or ciphertext does not match. */
export async function unseal(sealed: Sealed, context: SealContext): Promise<string> {
  try {
    const out = await kmsClient().send(
      new DecryptCommand({
        KeyId: config().kmsKeyId,
        CiphertextBlob: Buffer.from(sealed.ciphertext, 'base64'),
        EncryptionContext: encryptionContext(context),
      }),
    );
    if (!out.Plaintext) throw new Error('response without Plaintext');
    return Buffer.from(out.Plaintext).toString('utf8');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'InvalidCiphertextException' || code === 'IncorrectKeyException') {
      throw new SealedSecretError(`the sealed secret of ${context.accessKeyId} cannot be opened: ${code}`);
    }
    throw awsFailure('kms:Decrypt', error);
  }
}
