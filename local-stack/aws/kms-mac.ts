import { z } from 'zod';
import type { JsonHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { parseInput } from './json-input.js';
import { hmac, macMatches } from './kms-crypto.js';
import { MAC_ALGORITHMS, macAlgorithmOf, requireUsage, resolveKey, type MacAlgorithm } from './kms-keys.js';
import type { AwsState, KmsKey } from './state.js';

/** PlaintextType's bound in the KMS model (GenerateMac's and VerifyMac's Message). */
const MAX_MESSAGE_BYTES = 4096;
/** CiphertextType's bound (VerifyMac's Mac). */
const MAX_MAC_BYTES = 6144;

const GenerateMacInput = z.looseObject({
  KeyId: z.string().min(1).max(2048),
  Message: z.base64(),
  MacAlgorithm: z.enum(MAC_ALGORITHMS),
  GrantTokens: z.array(z.string()).max(10).optional(),
  DryRun: z.boolean().optional(),
});
const VerifyMacInput = GenerateMacInput.extend({ Mac: z.base64() });

/** A blob field's bytes, refused as Coral refuses a length outside the model's bounds. */
function boundedBlob(base64: string, member: string, max: number): Buffer {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length < 1 || bytes.length > max) {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must have length between 1 and ${max}`,
    );
  }
  return bytes;
}

/** The HMAC key the request names, once its usage and the algorithm are the ones it supports. */
function macKey(state: AwsState, input: z.infer<typeof GenerateMacInput>, operation: string): KmsKey {
  const key = resolveKey(state, input.KeyId);
  requireUsage(key, 'GENERATE_VERIFY_MAC', operation);
  if (macAlgorithmOf(key.spec) !== input.MacAlgorithm) {
    throw new AwsServiceError(
      'InvalidKeyUsageException',
      `Algorithm ${input.MacAlgorithm} is incompatible with key spec ${key.spec}.`,
    );
  }
  return key;
}

const bitsOf = (algorithm: MacAlgorithm): number => Number(algorithm.slice('HMAC_SHA_'.length));

// DryRun is answered last, as KMS does: only a request that would have succeeded gets it.
function dryRun(input: { DryRun?: boolean | undefined }): void {
  if (input.DryRun === true) {
    throw new AwsServiceError(
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
      412,
    );
  }
}

/** GenerateMac and VerifyMac with the emulated HMAC keys (RFC 2104, per-key random material). */
export const kmsMacActions: ReadonlyMap<string, JsonHandler> = new Map<string, JsonHandler>([
  [
    'GenerateMac',
    (input, { state }) => {
      const parsed = parseInput(GenerateMacInput, input);
      const message = boundedBlob(parsed.Message, 'message', MAX_MESSAGE_BYTES);
      const key = macKey(state, parsed, 'GenerateMac');
      dryRun(parsed);
      const mac = hmac(key.material, bitsOf(parsed.MacAlgorithm), message);
      return { KeyId: key.arn, Mac: mac.toString('base64'), MacAlgorithm: parsed.MacAlgorithm };
    },
  ],
  [
    'VerifyMac',
    (input, { state }) => {
      const parsed = parseInput(VerifyMacInput, input);
      const message = boundedBlob(parsed.Message, 'message', MAX_MESSAGE_BYTES);
      const mac = boundedBlob(parsed.Mac, 'mac', MAX_MAC_BYTES);
      const key = macKey(state, parsed, 'VerifyMac');
      if (!macMatches(key.material, bitsOf(parsed.MacAlgorithm), message, mac)) {
        // KMS names no reason: a MAC that does not match is all the caller learns.
        throw new AwsServiceError('KMSInvalidMacException', '', 400);
      }
      dryRun(parsed);
      return { KeyId: key.arn, MacValid: true, MacAlgorithm: parsed.MacAlgorithm };
    },
  ],
]);
