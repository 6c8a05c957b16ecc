import { parseEnvironment } from './environment.js';
import * as z from './zod.js';
import { InvalidInputError } from './errors.js';

/** An AWS account id. */
export const AccountId = z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id'));

const AccountIdList = z.pipe(
  z.string(),
  z.transform((text) =>
    text
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
  ),
);

const Env = z
  .object({
    /** The account the rotator is deployed in (CloudFormation's AWS::AccountId). */
    ROTATOR_ACCOUNT_ID: AccountId,
    ROTATOR_ALLOWED_ACCOUNT_IDS: z._default(z.pipe(AccountIdList, z.array(AccountId)), []),
    ROTATOR_TARGET_ROLE_NAME: z._default(
      z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name')),
      'iam-key-rotator-target',
    ),
    // AWS's pattern and length for sts:AssumeRole's ExternalId.
    ROTATOR_TARGET_EXTERNAL_ID: z._default(
      z.string().check(z.regex(/^([\w+=,.@:/-]{2,1024})?$/, 'must be 2-1024 characters of [\\w+=,.@:/-]')),
      '',
    ),
  })
  .check(
    z.refine((env) => env.ROTATOR_ALLOWED_ACCOUNT_IDS.length === 0 || env.ROTATOR_TARGET_EXTERNAL_ID !== '', {
      message: 'ROTATOR_TARGET_EXTERNAL_ID is required when ROTATOR_ALLOWED_ACCOUNT_IDS is set',
      path: ['ROTATOR_TARGET_EXTERNAL_ID'],
    }),
  );

export interface AccountSettings {
  /** The account the rotator is deployed in; users there are rotated with the functions' own roles. */
  ownAccountId: string;
  /** Other accounts whose users may be rotated, through their target role. */
  allowedAccountIds: string[];
  targetRoleName: string;
  /** Set whenever allowedAccountIds is not empty. */
  externalId?: string;
}

/** Reads the account settings from an environment; throws ConfigurationError naming every bad variable. */
export function loadAccountSettings(env: NodeJS.ProcessEnv): AccountSettings {
  const e = parseEnvironment(Env, env);
  return {
    ownAccountId: e.ROTATOR_ACCOUNT_ID,
    allowedAccountIds: [...new Set(e.ROTATOR_ALLOWED_ACCOUNT_IDS)].filter(
      (id) => id !== e.ROTATOR_ACCOUNT_ID,
    ),
    targetRoleName: e.ROTATOR_TARGET_ROLE_NAME,
    ...(e.ROTATOR_TARGET_EXTERNAL_ID ? { externalId: e.ROTATOR_TARGET_EXTERNAL_ID } : {}),
  };
}

let cached: AccountSettings | undefined;

/** The account settings, read from the environment once per Lambda container. */
export function accountSettings(): AccountSettings {
  cached ??= loadAccountSettings(process.env);
  return cached;
}

/** Throws InvalidInputError for an account that is neither the rotator's own nor allowed. */
export function checkAccountAllowed(accountId: string, settings = accountSettings()): void {
  if (accountId === settings.ownAccountId || settings.allowedAccountIds.includes(accountId)) return;
  const allowed = [settings.ownAccountId, ...settings.allowedAccountIds].join(', ');
  throw new InvalidInputError(
    `invalid execution input: accountId: ${accountId} is not an account this deployment may rotate in (allowed: ${allowed})`,
  );
}

/** The partition a region belongs to (role ARNs name it). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The role this deployment assumes in another account. */
export function targetRoleArn(accountId: string, region: string, settings = accountSettings()): string {
  return `arn:${partitionOf(region)}:iam::${accountId}:role/${settings.targetRoleName}`;
}
