import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { accountSettings, targetRoleArn } from '../accounts.js';
import { awsFailure, errorCode } from '../aws.js';
import { config } from '../config.js';
import { TargetAccountAccessError } from '../errors.js';
import { stsClient } from './sts.js';

/** The steps that act on users in other accounts; each is its own SourceIdentity there. */
export type TargetStep =
  | 'createKey'
  | 'verifyKey'
  | 'deactivateOld'
  | 'deleteOld'
  | 'discardNewKey'
  | 'discardLeftovers'
  | 'listCandidates';

/** Which account a step acts in, for which execution. */
export interface IamTarget {
  accountId: string;
  /** The execution's name: the role session's name, so CloudTrail in that account names it. */
  execution: string;
  step: TargetStep;
}

/** The shortest session AWS allows: a step takes seconds. */
const DURATION_SECONDS = 900;
/** Credentials are renewed this long before they expire, so no call starts with ones about to lapse. */
const REFRESH_MS = 5 * 60 * 1000;

/** `iam-key-rotator-<execution>`, within AWS's RoleSessionName rules (2-64 of [\w+=,.@-]). */
export function sessionName(execution: string): string {
  return `iam-key-rotator-${execution.replace(/[^\w+=,.@-]/g, '_')}`.slice(0, 64);
}

async function assume(target: IamTarget): Promise<AwsCredentialIdentity> {
  const settings = accountSettings();
  const roleArn = targetRoleArn(target.accountId, config().region, settings);
  try {
    const out = await stsClient().send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName(target.execution),
        ExternalId: settings.externalId,
        SourceIdentity: target.step,
        DurationSeconds: DURATION_SECONDS,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw awsFailure('sts:AssumeRole', new Error('response without Credentials'));
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  } catch (error) {
    const failure = awsFailure('sts:AssumeRole', error);
    if (failure.transient) throw failure;
    throw new TargetAccountAccessError(
      `${target.step} cannot assume ${roleArn} (${errorCode(error)}): the role must exist, trust this deployment's ${target.step} role and expect its ExternalId`,
    );
  }
}

/**
 * Credentials of the target role in the target's account, assumed on first use and again shortly
 * before they expire; concurrent calls share one AssumeRole.
 */
export function assumedRoleCredentials(target: IamTarget): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    const expiresAt = current?.expiration?.getTime() ?? 0;
    if (current && expiresAt - Date.now() > REFRESH_MS) return current;
    pending ??= assume(target).finally(() => {
      pending = undefined;
    });
    current = await pending;
    return current;
  };
}
