import { createHash } from 'node:crypto';
import { AccountId, type AccountSettings, checkAccountAllowed } from './accounts.js';
import { ExecutionInput } from './input.js';
import * as z from './zod.js';

/** The tag that opts a user in, unless the fleet input names another. */
export const DEFAULT_TAG_KEY = 'iam-key-rotator:rotate';
export const DEFAULT_TAG_VALUE = 'true';

/** What every child execution of one fleet run gets besides its user name (ExecutionInput's rules). */
export const UserDefaults = z.strictObject({
  graceSeconds: ExecutionInput.shape.graceSeconds,
  recoverySeconds: ExecutionInput.shape.recoverySeconds,
  oldKeyInUse: ExecutionInput.shape.oldKeyInUse,
  deleteInactiveKey: z.optional(z.boolean()),
});
export type UserDefaults = z.infer<typeof UserDefaults>;

/** The bounds of maxDuePerAccount, in the fleet input and the deployment parameter alike. */
export const MAX_DUE_PER_ACCOUNT_LIMIT = 10_000;
export const DEFAULT_MAX_DUE_PER_ACCOUNT = 1_000;

/**
 * The fleet machine's execution input (a schedule, the console, `rotate-fleet`). Unknown fields are
 * refused. Shared by planFleet and listCandidates, which check it before any call, and the CLI.
 */
export const FleetInput = z
  .strictObject({
    /** A user is due when its oldest Active key is older than this. */
    maxKeyAgeDays: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(3650)), 90),
    /** Which users are rotated: those tagged tagKey=tagValue, or every user under the path. */
    tagKey: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    tagValue: z.optional(z.string().check(z.maxLength(256))),
    allUsersInPath: z._default(z.boolean(), false),
    /** How many children may be between their start and their signal at once. */
    maxConcurrency: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(40)), 5),
    /**
     * Due users rotated per account in this run, oldest keys first; the rest are deferred to the
     * next run. At most the deployment's maxDuePerAccount (its default).
     */
    maxDuePerAccount: z.optional(
      z.number().check(z.int(), z.minimum(1), z.maximum(MAX_DUE_PER_ACCOUNT_LIMIT)),
    ),
    /** Children run as dry runs: each plans its rotation and changes nothing. */
    dryRun: z._default(z.boolean(), false),
    userDefaults: z._default(UserDefaults, {}),
    /** The accounts whose users are listed; neither this nor allowedAccounts: the deployment's own. */
    accountIds: z.optional(
      z.array(AccountId).check(
        z.minLength(1),
        z.refine((ids) => new Set(ids).size === ids.length, 'must not repeat an account'),
      ),
    ),
    /** Every account the deployment may rotate in: its own and ROTATOR_ALLOWED_ACCOUNT_IDS. */
    allowedAccounts: z.optional(z.boolean()),
  })
  .check(
    z.refine((input) => !(input.allUsersInPath && (input.tagKey ?? input.tagValue) !== undefined), {
      message: 'allUsersInPath and tagKey/tagValue exclude each other',
    }),
    z.refine((input) => !(input.allowedAccounts === true && input.accountIds !== undefined), {
      message: 'accountIds and allowedAccounts exclude each other',
    }),
  );
export type FleetInput = z.infer<typeof FleetInput>;

/**
 * The accounts a fleet run lists, in order: those named (each must be allowed: InvalidInputError
 * before any call), every allowed one, or the deployment's own.
 */
export function fleetAccounts(
  input: Pick<FleetInput, 'accountIds' | 'allowedAccounts'>,
  settings: AccountSettings,
): string[] {
  if (input.accountIds) {
    for (const id of input.accountIds) checkAccountAllowed(id, settings);
    return input.accountIds;
  }
  if (input.allowedAccounts === true) return [settings.ownAccountId, ...settings.allowedAccountIds];
  return [settings.ownAccountId];
}

/** Why a user under the path is not rotated by this fleet run. */
export const SKIP_REASONS = ['notTagged', 'keyYoung', 'noActiveKey', 'twoKeys', 'rotationRunning'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** A user the fleet starts a rotation of: names and ids only (a line of the account's due JSON Lines). */
export interface DueUser {
  /** The account the user is in: the child's input `accountId`. */
  accountId: string;
  userName: string;
  /** Where the child serves the key: the user's verified pin, or its default path serving its key. */
  vaultPath: string;
  /** The oldest Active key, and its age in whole days. */
  accessKeyId: string;
  keyAgeDays: number;
  /** The child execution's name: the same for every attempt of this fleet run and user. */
  executionName: string;
}

export interface SkippedUser {
  accountId: string;
  userName: string;
  reason: SkipReason;
}

/** A due user beyond the account's maxDuePerAccount: not started, not failed; the next run takes it. */
export interface DeferredUser {
  accountId: string;
  userName: string;
  keyAgeDays: number;
}

/**
 * A due user the fleet starts no rotation of: IAM would not describe it, or the rotator cannot
 * prove where its consumers read its key (no verified pin, and its default path serves none of its
 * Active keys), or its pin was changed outside the rotator: createKey would refuse it too.
 */
export interface FailedUser {
  accountId: string;
  userName: string;
  /** The error's name: InvalidInputError, VaultDataError, AwsRequestError, ... */
  error: string;
  /** Its message, at most MAX_USER_CAUSE characters. */
  cause: string;
}

/**
 * An account whose users could not be listed (its target role refused, or IAM failed past the
 * retries): none of its users was started; the other accounts go on.
 */
export interface FailedAccount {
  accountId: string;
  /** The error's name: TargetAccountAccessError, AwsUnavailableError or AwsRequestError. */
  error: string;
  /** Its message, at most MAX_ACCOUNT_CAUSE characters. */
  cause: string;
}

/** What listCandidates found in one account (its `accounts/<id>.json`): every list in full. */
export interface AccountListing {
  accountId: string;
  /** The due users written to the account's due JSON Lines (its `dueKey`), oldest key first. */
  due: number;
  maxDuePerAccount: number;
  skipped: SkippedUser[];
  /** Tampering first. */
  failedUsers: FailedUser[];
  /** Oldest key first. */
  deferred: DeferredUser[];
}

/** An account's record in S3: its listing, or why it could not be listed. */
export type AccountRecord = AccountListing | FailedAccount;

/** listCandidates' result: one account's counts, small whatever the account holds. */
export interface AccountListed {
  accountId: string;
  due: number;
  deferred: number;
  skipped: number;
  failedUsers: number;
  /** The first MAX_FAILED_NAMES_RETURNED failed users' names, tampering first. */
  failedUserNames?: string[];
  /** The due users' JSON Lines, when any is due. */
  dueKey?: string;
}

/**
 * What each account's iteration of the fleet machine's ListAccounts ends with: its due count, or the
 * error name its Catch recorded. 1,000 accounts stay under 60 KB.
 */
export type ListingResult = { accountId: string; due: number } | { accountId: string; error: string };

/** Step Functions' limit on a state's input or output (256 KiB of UTF-8). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** A failed account's cause is cut here: the summary and the Fail cause repeat it. */
export const MAX_ACCOUNT_CAUSE = 500;
/** A failed user's cause is cut here, for the same reason. */
export const MAX_USER_CAUSE = 500;

/** Failed users listCandidates names in its result; the account's listing names them all. */
export const MAX_FAILED_NAMES_RETURNED = 5;

/** Execution names: 1-80 characters, none of whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or controls. */
const NAME_UNSAFE = /[^\w.@+=-]/g;

/**
 * The child's execution name, derived from the fleet execution, the account and the user: a retried
 * Map iteration asks for the same name, so Step Functions starts no second rotation of the user,
 * and users of the same name in two accounts get two names.
 */
export function childExecutionName(fleetExecutionArn: string, accountId: string, userName: string): string {
  const digest = createHash('sha256')
    .update(`${fleetExecutionArn}\n${accountId}\n${userName}`)
    .digest('hex')
    .slice(0, 16);
  return `fleet-${digest}-${userName.replace(NAME_UNSAFE, '_')}`.slice(0, 80);
}
