import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { awsFailure, errorCode } from './commons/aws.js';
import { stsWith } from './commons/clients/sts.js';
import { KeyNotYetValidError, KeyVerificationError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { iamUser } from './commons/iam.js';
import { logger } from './commons/logger.js';
import { type Pinning, pinVerifiedPath } from './commons/pin.js';
import { VerifyEvent } from './commons/state.js';
import { readStoredKey } from './commons/vault/stored-key.js';

/** STS's answers for a key IAM has not propagated yet. */
const NOT_YET_VALID = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'AuthFailure']);

/**
 * VerifyKey: reads the key back from Vault and calls sts:GetCallerIdentity with it, which must name
 * the user createKey made it for, in the execution's account. While IAM
 * propagates the key STS refuses it; KeyNotYetValidError lets the state machine retry with backoff.
 * Once verified, the user is pinned to this Vault path (first rotation, or a move).
 */
export const handler = async (event: unknown): Promise<{ arn: string; vaultVersion: number } & Pinning> => {
  const { request, created } = parseEvent(VerifyEvent, event);
  const current = await readStoredKey(request.vaultPath);
  if (current.key?.accessKeyId !== created.accessKeyId) {
    throw new KeyVerificationError(
      `Vault at ${request.vaultPath} serves ${current.key?.accessKeyId ?? 'no key'}, not the new key ${created.accessKeyId}`,
    );
  }
  let arn: string | undefined;
  try {
    arn = (await stsWith(current.key).send(new GetCallerIdentityCommand({}))).Arn;
  } catch (error) {
    const code = errorCode(error);
    if (NOT_YET_VALID.has(code)) {
      throw new KeyNotYetValidError(`STS does not accept ${created.accessKeyId} yet (${code})`);
    }
    if (code === 'SignatureDoesNotMatch') {
      throw new KeyVerificationError(
        `STS rejects the secret Vault holds for ${created.accessKeyId} (${code})`,
      );
    }
    throw awsFailure('sts:GetCallerIdentity', error);
  }
  if (arn !== created.userArn) {
    throw new KeyVerificationError(
      `${created.accessKeyId} belongs to ${arn ?? 'nobody'}, not ${created.userArn}`,
    );
  }
  const user = iamUser(request, 'verifyKey');
  // createKey read the ARN in the execution's account; another account's user is not the one rotated.
  if (arn.split(':')[4] !== user.target.accountId) {
    throw new KeyVerificationError(
      `${arn} is not a user of account ${user.target.accountId}, where this execution rotates`,
    );
  }
  logger.info('verified new key', { accessKeyId: created.accessKeyId, arn });
  return {
    arn,
    vaultVersion: current.version,
    ...(await pinVerifiedPath(request, user, {
      path: created.pinnedVaultPath,
      signed: created.pinSigned,
      userId: created.userId,
    })),
  };
};
