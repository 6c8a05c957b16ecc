import type { AccessKeyMetadata } from '@aws-sdk/client-iam';
import { AccountId } from './commons/accounts.js';
import { iamClients } from './commons/clients/iam.js';
import { config } from './commons/config.js';
import {
  InvalidInputError,
  RotatorError,
  TargetAccountAccessError,
  TransientError,
} from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  type AccountListed,
  type AccountListing,
  childExecutionName,
  DEFAULT_TAG_KEY,
  DEFAULT_TAG_VALUE,
  type DeferredUser,
  type DueUser,
  type FailedAccount,
  type FailedUser,
  type FleetInput,
  MAX_ACCOUNT_CAUSE,
  MAX_FAILED_NAMES_RETURNED,
  MAX_USER_CAUSE,
  type SkippedUser,
  type SkipReason,
} from './commons/fleet-input.js';
import { fleetRequest } from './commons/fleet-request.js';
import { executionNameOf, putJson, putJsonLines, runKeys } from './commons/fleet-store.js';
import type { AccessKeyInfo } from './commons/iam.js';
import { pooled, takeInOrder, userState, usersUnder } from './commons/iam-listing.js';
import { defaultPath, UserName, VaultPath } from './commons/input.js';
import { logger } from './commons/logger.js';
import { publishFleetMetrics } from './commons/metrics.js';
import { claimOf, isFresh, verifiedClaim } from './commons/ownership.js';
import { readPin, type TagSubject, TAMPER_PHRASE } from './commons/pin.js';
import { checkPinnedPath, servingHome } from './commons/serving.js';
import { readStoredKey } from './commons/vault/stored-key.js';
import * as z from './commons/zod.js';

const Event = z.object({
  input: z.unknown(),
  execution: z.string().check(z.minLength(1)),
  accountId: AccountId,
});

/** The deployment's IAM path (serverless.yml's userPath): only users under it are listed. */
const Env = z.object({
  ROTATOR_USER_PATH: z.string().check(z.regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path')),
});

const DAY_MS = 86_400_000;
/** Users read (and placed) at once: each needs ListUserTags and ListAccessKeys, and IAM throttles per account. */
const PARALLEL_USERS = 4;

/** What this run asks of the account. */
interface Selection {
  accountId: string;
  request: FleetInput;
  maxDuePerAccount: number;
  path: string;
  tagKey: string;
  tagValue: string;
  now: number;
  /** The fleet execution's ARN (child names) and name (role session names in other accounts). */
  execution: string;
}

/** A user that passed every check but placement: due unless the account's maxDuePerAccount is reached first. */
interface Candidate {
  user: { userName: string; userId: string };
  tags: Record<string, string>;
  keys: AccessKeyMetadata[];
  oldest: { accessKeyId: string; createdAt: number };
  ageDays: number;
}

/**
 * Where a due user's rotation will serve its key: the path its verified pin names, or its default
 * path, by the rules createKey applies (serving.ts), so that a user the rotator cannot place starts
 * no rotation. Throws what createKey would.
 */
async function placement(accountId: string, candidate: Candidate): Promise<string> {
  const { user, tags } = candidate;
  // StartRotation builds the child's input with States.Format: JSON only while names and paths
  // hold no quote or backslash, which ExecutionInput's rules exclude.
  checkChildField('userName', user.userName, UserName);
  const { pathPrefix, pathTemplate } = config().vault;
  const subject: TagSubject = { accountId, ...user };
  const pin = await readPin(tags, subject);
  const defaultVaultPath = defaultPath(pathTemplate, {
    prefix: pathPrefix,
    userName: user.userName,
    accountId,
  });
  const request = {
    userName: user.userName,
    accountId,
    vaultPath: pin?.path ?? defaultVaultPath,
    defaultVaultPath,
    moveVaultPath: false,
    adoptVaultPath: false,
  };
  if (pin !== null) checkPinnedPath(request, pin.path);
  checkChildField('vaultPath', request.vaultPath, VaultPath);
  await servingHome(request, candidate.keys.map(keyInfo), await readStoredKey(request.vaultPath), pin);
  return request.vaultPath;
}

/** InvalidInputError unless `value` passes the rule ExecutionInput holds the child's field to. */
function checkChildField(field: string, value: string, rule: z.core.$ZodType): void {
  const checked = z.safeParse(rule, value);
  if (!checked.success) {
    throw new InvalidInputError(
      `${field} ${JSON.stringify(value)} ${checked.error.issues[0]?.message ?? 'is invalid'}: no rotation can be started with it`,
    );
  }
}

const keyInfo = (key: AccessKeyMetadata): AccessKeyInfo => ({
  accessKeyId: key.AccessKeyId ?? '',
  status: key.Status === 'Inactive' ? 'Inactive' : 'Active',
  createDate: (key.CreateDate ?? new Date(0)).toISOString(),
});

/** A user the fleet starts no rotation of, with its error's name and message. */
function failedAs(accountId: string, userName: string, error: RotatorError, why: string): FailedUser {
  logger.warn(why, { accountId, userName, error: error.name });
  return { accountId, userName, error: error.name, cause: error.message.slice(0, MAX_USER_CAUSE) };
}

/** A user createKey would refuse; rethrows what the state's retry may fix, or what no step names. */
function unplaceable(accountId: string, userName: string, error: unknown): FailedUser {
  if (!(error instanceof RotatorError) || error instanceof TransientError) throw error;
  return failedAs(accountId, userName, error, 'user not placed');
}

/** Lists the account's users under the path and says who is due, skipped, deferred or failed, and why. */
async function listAccount(selection: Selection): Promise<
  Omit<AccountListing, 'maxDuePerAccount'> & {
    dueUsers: DueUser[];
    /** The age of the oldest Active key of an opted-in user (0: none has one). */
    oldestKeyAgeDays: number;
  }
> {
  const { accountId, request, now, tagKey, tagValue } = selection;
  const { iam } = iamClients({
    accountId,
    execution: executionNameOf(selection.execution),
    step: 'listCandidates',
  });
  const users = (await usersUnder(iam, selection.path)).flatMap((u) =>
    u.UserName && u.UserId ? [{ userName: u.UserName, userId: u.UserId }] : [],
  );
  let oldestKeyAgeDays = 0;
  const verdicts = await pooled(
    users,
    PARALLEL_USERS,
    async (user): Promise<Candidate | SkippedUser | FailedUser> => {
      const { userName } = user;
      let state: Awaited<ReturnType<typeof userState>>;
      try {
        state = await userState(iam, userName);
      } catch (error) {
        // One user IAM will not describe (after the page's retries) is that user's failure; a target
        // role that can no longer be assumed is the account's.
        if (!(error instanceof RotatorError) || error instanceof TargetAccountAccessError) throw error;
        return failedAs(accountId, userName, error, 'user not listed');
      }
      const { tags, keys } = state;
      const skip = (reason: SkipReason): SkippedUser => ({ accountId, userName, reason });
      if (!request.allUsersInPath && tags[tagKey] !== tagValue) return skip('notTagged');
      const active = keys
        .filter((k) => k.Status === 'Active' && k.AccessKeyId)
        .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0));
      const oldest = active[0];
      const createdAt = oldest?.CreateDate?.getTime() ?? now;
      const ageDays = Math.floor((now - createdAt) / DAY_MS);
      // Every opted-in user's, whatever becomes of it: the key-age alarm watches the oldest.
      if (oldest) oldestKeyAgeDays = Math.max(oldestKeyAgeDays, ageDays);
      const hint = claimOf(tags);
      // Only a claim the rotator wrote holds a user back; a fresh-looking one is checked.
      if (hint && isFresh(hint, now)) {
        let running: Awaited<ReturnType<typeof verifiedClaim>>;
        try {
          running = await verifiedClaim(tags, { accountId, ...user });
        } catch (error) {
          return unplaceable(accountId, userName, error);
        }
        if (running) return skip('rotationRunning');
      }
      if (!oldest?.AccessKeyId) return skip('noActiveKey');
      if (ageDays < request.maxKeyAgeDays) return skip('keyYoung');
      const roomByDeleting =
        request.userDefaults.deleteInactiveKey === true && keys.some((k) => k.Status === 'Inactive');
      if (keys.length >= 2 && !roomByDeleting) return skip('twoKeys');
      return { user, tags, keys, oldest: { accessKeyId: oldest.AccessKeyId, createdAt }, ageDays };
    },
  );
  const skipped = verdicts.filter((v): v is SkippedUser => 'reason' in v);
  const failedUsers = verdicts.filter((v): v is FailedUser => 'error' in v);
  // Oldest key first (ties in the order IAM listed them): maxDuePerAccount keeps the most overdue.
  const candidates = verdicts
    .filter((v): v is Candidate => 'oldest' in v)
    .map((candidate, index) => ({ candidate, index }))
    .sort((a, b) => a.candidate.oldest.createdAt - b.candidate.oldest.createdAt || a.index - b.index)
    .map(({ candidate }) => candidate);
  const placed = new Map<Candidate, DueUser>();
  // A user that cannot be placed is failed and frees its place for the next oldest.
  const tried = await takeInOrder(
    candidates,
    selection.maxDuePerAccount,
    PARALLEL_USERS,
    async (candidate) => {
      const { userName } = candidate.user;
      try {
        const vaultPath = await placement(accountId, candidate);
        placed.set(candidate, {
          accountId,
          userName,
          vaultPath,
          accessKeyId: candidate.oldest.accessKeyId,
          keyAgeDays: candidate.ageDays,
          executionName: childExecutionName(selection.execution, accountId, userName),
        });
        return true;
      } catch (error) {
        failedUsers.push(unplaceable(accountId, userName, error));
        return false;
      }
    },
  );
  const deferred = candidates
    .slice(tried)
    .map((c): DeferredUser => ({ accountId, userName: c.user.userName, keyAgeDays: c.ageDays }));
  // Tampering first, whatever a cap cuts off later; then in the order IAM listed them.
  const listedAt = new Map(users.map((u, index) => [u.userName, index]));
  const tampered = (f: FailedUser) => Number(f.cause.includes(TAMPER_PHRASE));
  failedUsers.sort(
    (a, b) => tampered(b) - tampered(a) || (listedAt.get(a.userName) ?? 0) - (listedAt.get(b.userName) ?? 0),
  );
  const dueUsers = candidates.flatMap((c) => placed.get(c) ?? []);
  return { accountId, due: dueUsers.length, dueUsers, skipped, failedUsers, deferred, oldestKeyAgeDays };
}

/**
 * ListCandidates: lists ONE account of a fleet run (its own with the function's role, another
 * through its target role): the users under the deployment's IAM path with their tags and keys.
 * Writes who is due (oldest key first, at most maxDuePerAccount; JSON Lines, the Distributed Map's
 * items) and the account's full listing (skipped with reasons, failed with error names, deferred)
 * to the fleet's bucket, and returns the counts. A user IAM will not describe, or that cannot be
 * placed, is failed and the others go on; an account that cannot be listed throws its error (named:
 * the fleet machine's Catch records the account failed) after recording it. Names and ids only.
 */
export const handler = async (event: unknown): Promise<AccountListed> => {
  const { input, execution, accountId } = parseEvent(Event, event);
  const { input: request, accounts, maxDuePerAccount } = fleetRequest(input);
  // The account comes from the state: it must be one the fleet input lists, as planFleet allowed.
  if (!accounts.includes(accountId)) {
    throw new InvalidInputError(`invalid event: accountId: ${accountId} is not an account this fleet lists`);
  }
  const env = Env.safeParse(process.env);
  if (!env.success) throw new InvalidInputError(`ROTATOR_USER_PATH: ${env.error.issues[0]?.message ?? ''}`);
  const keys = runKeys(execution);
  let listed: Awaited<ReturnType<typeof listAccount>>;
  try {
    listed = await listAccount({
      accountId,
      request,
      maxDuePerAccount,
      path: env.data.ROTATOR_USER_PATH,
      tagKey: request.tagKey ?? DEFAULT_TAG_KEY,
      tagValue: request.tagValue ?? DEFAULT_TAG_VALUE,
      now: Date.now(),
      execution,
    });
  } catch (error) {
    // Its target role refused, IAM refused or failing, Vault failing while a user was placed: the
    // state's Retry may list it again, else its Catch reports the account, with this message.
    if (error instanceof RotatorError) {
      const { name, message } = error;
      const failure: FailedAccount = { accountId, error: name, cause: message.slice(0, MAX_ACCOUNT_CAUSE) };
      logger.warn('account not listed', { accountId, error: name });
      // The Catch keeps the error's name only; the summary reads the message here. The failure
      // thrown is what matters: a record that cannot be written leaves the name.
      await putJson(keys.account(accountId), failure).catch(() => undefined);
    }
    throw error;
  }
  const { dueUsers, oldestKeyAgeDays, ...rest } = listed;
  const listing: AccountListing = { ...rest, maxDuePerAccount };
  if (dueUsers.length > 0) await putJsonLines(keys.due(accountId), dueUsers);
  await putJson(keys.account(accountId), listing);
  publishFleetMetrics(accountId, {
    UsersDue: listing.due,
    UsersDeferred: listing.deferred.length,
    OldestActiveKeyAgeDays: oldestKeyAgeDays,
  });
  logger.info('account listed', {
    accountId,
    due: listing.due,
    deferred: listing.deferred.length,
    skipped: listing.skipped.length,
    failedUsers: listing.failedUsers.length,
  });
  return {
    accountId,
    due: listing.due,
    deferred: listing.deferred.length,
    skipped: listing.skipped.length,
    failedUsers: listing.failedUsers.length,
    ...(listing.failedUsers.length > 0
      ? { failedUserNames: listing.failedUsers.slice(0, MAX_FAILED_NAMES_RETURNED).map((f) => f.userName) }
      : {}),
    ...(listing.due > 0 ? { dueKey: keys.due(accountId) } : {}),
  };
};
