import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { awsFailure, errorCode } from './aws.js';
import { kmsClient } from './clients/kms.js';
import { config } from './config.js';

/** The rotator's signed user tags, each under its own HMAC key: only its writer may sign. */
export type SignedTag = 'pin' | 'claim';

const MAC_ALGORITHM = 'HMAC_SHA_256';
/** An HMAC-SHA-256 in base64: 32 bytes. */
const MAC = /^[A-Za-z0-9+/]{43}=$/;

/** What is signed: the tag kind and version first, so a MAC of one kind never verifies as another. */
function message(tag: SignedTag, fields: readonly string[]): Uint8Array {
  return Buffer.from(JSON.stringify([`iam-key-rotator/${tag}/v1`, ...fields]), 'utf8');
}

const keyOf = (tag: SignedTag) => config().tagKeys[tag];

/** The MAC of a tag's fields, in base64 (KMS GenerateMac under the tag's key). */
export async function signTag(tag: SignedTag, fields: readonly string[]): Promise<string> {
  try {
    const out = await kmsClient().send(
      new GenerateMacCommand({
        KeyId: keyOf(tag),
        MacAlgorithm: MAC_ALGORITHM,
        Message: message(tag, fields),
      }),
    );
    if (!out.Mac) throw new Error('response without Mac');
    return Buffer.from(out.Mac).toString('base64');
  } catch (error) {
    throw awsFailure('kms:GenerateMac', error);
  }
}

/** Whether `mac` is the rotator's MAC of these fields (KMS VerifyMac; a mismatch is KMSInvalidMacException). */
export async function verifyTag(tag: SignedTag, fields: readonly string[], mac: string): Promise<boolean> {
  if (!MAC.test(mac)) return false;
  try {
    const out = await kmsClient().send(
      new VerifyMacCommand({
        KeyId: keyOf(tag),
        MacAlgorithm: MAC_ALGORITHM,
        Message: message(tag, fields),
        Mac: Buffer.from(mac, 'base64'),
      }),
    );
    return out.MacValid === true;
  } catch (error) {
    if (errorCode(error) === 'KMSInvalidMacException') return false;
    throw awsFailure('kms:VerifyMac', error);
  }
}
