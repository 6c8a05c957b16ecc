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

/**
 * The fleet machine's execution input (a schedule, the console, `rotate-fleet`). Unknown fields are
 * refused. Shared by listCandidates, which checks it before any call, and the CLI.
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

/** A user the fleet starts a rotation of: names and ids only. */
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

/**
 * A due user the fleet starts no rotation of, because the rotator cannot prove where its consumers
 * read its key (no verified pin, and its default path serves none of its Active keys) or its pin was
 * changed outside the rotator: createKey would refuse it too.
 */
export interface FailedUser {
  accountId: string;
  userName: string;
  /** The error's name: InvalidInputError, or VaultDataError for a path holding no key pair. */
  error: string;
  /** Its message, at most MAX_USER_CAUSE characters. */
  cause: string;
}

/** An account whose users were listed, and how many of them were skipped. */
export interface ListedAccount {
  accountId: string;
  skippedTotal: number;
}

/**
 * An account of a fleet over several accounts whose users could not be listed (its target role
 * refused, or IAM failed past the retries): none of its users was started; the others go on.
 */
export interface FailedAccount {
  accountId: string;
  /** The error's name: TargetAccountAccessError, AwsUnavailableError or AwsRequestError. */
  error: string;
  /** Its message, at most MAX_ACCOUNT_CAUSE characters. */
  cause: string;
}

/** listCandidates' result: the Map's items and the fleet-level values every item reads. */
export interface Candidates {
  due: DueUser[];
  /** The first MAX_FAILED_LISTED due users not started, with the reason; `failedUsersTotal` counts them all. */
  failedUsers: FailedUser[];
  failedUsersTotal: number;
  /** The first MAX_SKIPPED_LISTED skipped users with their reasons; `skippedTotal` counts them all. */
  skipped: SkippedUser[];
  skippedTotal: number;
  /** Every account listed, in the order asked for. */
  accounts: ListedAccount[];
  failedAccounts: FailedAccount[];
  dryRun: boolean;
  maxConcurrency: number;
  userDefaults: UserDefaults;
}

/** Step Functions' limit on a state's input or output (256 KiB of UTF-8). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** A failed account's cause is cut here: the summary and the Fail cause repeat it. */
export const MAX_ACCOUNT_CAUSE = 500;
/** A failed user's cause is cut here, for the same reason. */
export const MAX_USER_CAUSE = 500;

/**
 * Failed users named in the output (~700 bytes each): however many users someone allowed to tag
 * them makes unplaceable, the fleet's state stays small and the others are rotated.
 */
export const MAX_FAILED_LISTED = 100;

/**
 * The most users one fleet run hands to its Map, across all its accounts. An entry is at most
 * ~330 bytes (a 64-character name, an 80-character execution name, a 20-character key id, a
 * 12-digit account), and the Map's results, the summary (flat and by account) and the Fail cause
 * each repeat the names: 400 users stay under 256 KiB at every state.
 */
export const MAX_FLEET_USERS = 400;

/**
 * Skipped users named in the output (~60 bytes each): a path holding thousands of users that are not
 * due must not make the fleet's state too large, so beyond these only the count is kept.
 */
export const MAX_SKIPPED_LISTED = 200;

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
