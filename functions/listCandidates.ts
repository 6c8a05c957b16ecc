import {
  type AccessKeyMetadata,
  type IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  type User,
} from '@aws-sdk/client-iam';
import { accountSettings } from './commons/accounts.js';
import { awsFailure } from './commons/aws.js';
import { iamClients } from './commons/clients/iam.js';
import { config } from './commons/config.js';
import {
  AwsRequestError,
  AwsUnavailableError,
  FleetTooLargeError,
  InvalidInputError,
  RotatorError,
  TargetAccountAccessError,
  TransientError,
} from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  type Candidates,
  childExecutionName,
  DEFAULT_TAG_KEY,
  DEFAULT_TAG_VALUE,
  type DueUser,
  type FailedAccount,
  type FailedUser,
  FleetInput,
  fleetAccounts,
  MAX_ACCOUNT_CAUSE,
  MAX_FAILED_LISTED,
  MAX_USER_CAUSE,
  MAX_FLEET_USERS,
  MAX_PAYLOAD_BYTES,
  MAX_SKIPPED_LISTED,
  type SkippedUser,
  type SkipReason,
} from './commons/fleet-input.js';
import type { AccessKeyInfo } from './commons/iam.js';
import { belowFloors, defaultPath } from './commons/input.js';
import { logger } from './commons/logger.js';
import { claimOf, isFresh, verifiedClaim } from './commons/ownership.js';
import { readPin, type TagSubject, TAMPER_PHRASE } from './commons/pin.js';
import { checkPinnedPath, servingHome } from './commons/serving.js';
import { readStoredKey } from './commons/vault/stored-key.js';
import * as z from './commons/zod.js';

const Event = z.object({
  input: z.unknown(),
  execution: z.string().check(z.minLength(1)),
});

/** The deployment's IAM path (serverless.yml's userPath): only users under it are listed. */
const Env = z.object({
  ROTATOR_USER_PATH: z.string().check(z.regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path')),
});

const DAY_MS = 86_400_000;
/** Users read at once in one account: each needs ListUserTags and ListAccessKeys, and IAM throttles per account. */
const PARALLEL_USERS = 4;
/** Accounts listed at once: each has its own IAM throttle; below clients/iam.ts MAX_ASSUMED (a test checks). */
export const PARALLEL_ACCOUNTS = 4;

/**
 * What makes one account of a fleet over several unlistable without failing the others: its target
 * role refused, IAM refused, or IAM still failed after the page's retries.
 */
const ACCOUNT_FAILURES = [TargetAccountAccessError, AwsRequestError, AwsUnavailableError];

/** Attempts of one page while IAM throttles (or fails transiently), with full-jitter backoff. */
const PAGE_ATTEMPTS = 10;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 3_000;

/**
 * One IAM call, tried again while IAM answers Throttling (or another transient error): a page
 * retried here keeps the pages already read, where the state machine's retry would list every
 * user again, into the same throttle.
 */
async function paced<T>(action: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const failure = awsFailure(action, error);
      if (!failure.transient || attempt >= PAGE_ATTEMPTS) throw failure;
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}

/** Every page of a paginated IAM list (Marker / IsTruncated), as one array. */
async function allPages<T>(
  action: string,
  page: (
    marker: string | undefined,
  ) => Promise<{ items: T[]; marker?: string | undefined; more?: boolean | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let marker: string | undefined;
  do {
    const out = await paced(action, () => page(marker));
    items.push(...out.items);
    marker = out.more ? out.marker : undefined;
  } while (marker !== undefined);
  return items;
}

async function usersUnder(iam: IAMClient, path: string): Promise<User[]> {
  return allPages('iam:ListUsers', async (Marker) => {
    const out = await iam.send(new ListUsersCommand({ PathPrefix: path, Marker }));
    return { items: out.Users ?? [], marker: out.Marker, more: out.IsTruncated };
  });
}

async function userState(iam: IAMClient, userName: string) {
  const [tags, keys] = await Promise.all([
    allPages('iam:ListUserTags', async (Marker) => {
      const out = await iam.send(new ListUserTagsCommand({ UserName: userName, Marker }));
      return { items: out.Tags ?? [], marker: out.Marker, more: out.IsTruncated };
    }),
    allPages('iam:ListAccessKeys', async (Marker) => {
      const out = await iam.send(new ListAccessKeysCommand({ UserName: userName, Marker }));
      return { items: out.AccessKeyMetadata ?? [], marker: out.Marker, more: out.IsTruncated };
    }),
  ]);
  return { tags: Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? ''])), keys };
}

/** Runs `work` on every item, at most `limit` at once, keeping the order. */
async function pooled<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What one fleet run asks of every account it lists. */
interface Selection {
  request: FleetInput;
  path: string;
  tagKey: string;
  tagValue: string;
  now: number;
  /** The fleet execution's ARN (child names) and name (role session names in other accounts). */
  execution: string;
  executionName: string;
}

/**
 * Where a due user's rotation will serve its key: the path its verified pin names, or its default
 * path, by the rules createKey applies (serving.ts), so that a user the rotator cannot place starts
 * no rotation. Throws what createKey would.
 */
async function placement(
  accountId: string,
  user: { userName: string; userId: string },
  tags: Record<string, string>,
  keys: AccessKeyInfo[],
): Promise<string> {
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
  await servingHome(request, keys, await readStoredKey(request.vaultPath), pin);
  return request.vaultPath;
}

const keyInfo = (key: AccessKeyMetadata): AccessKeyInfo => ({
  accessKeyId: key.AccessKeyId ?? '',
  status: key.Status === 'Inactive' ? 'Inactive' : 'Active',
  createDate: (key.CreateDate ?? new Date(0)).toISOString(),
});

/** Lists one account's users under the path and says who is due, who is skipped and who failed, and why. */
async function listAccount(
  accountId: string,
  selection: Selection,
): Promise<(DueUser | SkippedUser | FailedUser)[]> {
  const { request, now, tagKey, tagValue } = selection;
  const { iam } = iamClients({ accountId, execution: selection.executionName, step: 'listCandidates' });
  const users = (await usersUnder(iam, selection.path)).flatMap((u) =>
    u.UserName && u.UserId ? [{ userName: u.UserName, userId: u.UserId }] : [],
  );
  return pooled(users, PARALLEL_USERS, async (user) => {
    const { userName } = user;
    const failedAs = (error: RotatorError, why: string): FailedUser => {
      logger.warn(why, { accountId, userName, error: error.name });
      return { accountId, userName, error: error.name, cause: error.message.slice(0, MAX_USER_CAUSE) };
    };
    let state: Awaited<ReturnType<typeof userState>>;
    try {
      state = await userState(iam, userName);
    } catch (error) {
      // One user IAM will not describe (after the page's retries) is that user's failure; a target
      // role that can no longer be assumed is the account's.
      if (!(error instanceof RotatorError) || error instanceof TargetAccountAccessError) throw error;
      return failedAs(error, 'user not listed');
    }
    const { tags, keys } = state;
    const skip = (reason: SkipReason): SkippedUser => ({ accountId, userName, reason });
    if (!request.allUsersInPath && tags[tagKey] !== tagValue) return skip('notTagged');
    const failed = (error: unknown): FailedUser => {
      if (!(error instanceof RotatorError) || error instanceof TransientError) throw error;
      return failedAs(error, 'user not placed');
    };
    const hint = claimOf(tags);
    // Only a claim the rotator wrote holds a user back; a fresh-looking one is checked.
    if (hint && isFresh(hint, now)) {
      const running = await verifiedClaim(tags, { accountId, ...user }).catch((error: unknown) =>
        failed(error),
      );
      if (running && 'error' in running) return running;
      if (running) return skip('rotationRunning');
    }
    const active = keys
      .filter((k) => k.Status === 'Active' && k.AccessKeyId)
      .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0));
    const oldest = active[0];
    if (!oldest?.AccessKeyId) return skip('noActiveKey');
    const ageDays = Math.floor((now - (oldest.CreateDate?.getTime() ?? now)) / DAY_MS);
    if (ageDays < request.maxKeyAgeDays) return skip('keyYoung');
    const roomByDeleting =
      request.userDefaults.deleteInactiveKey === true && keys.some((k) => k.Status === 'Inactive');
    if (keys.length >= 2 && !roomByDeleting) return skip('twoKeys');
    let vaultPath: string;
    try {
      vaultPath = await placement(accountId, user, tags, keys.map(keyInfo));
    } catch (error) {
      return failed(error);
    }
    const due: DueUser = {
      accountId,
      userName,
      vaultPath,
      accessKeyId: oldest.AccessKeyId,
      keyAgeDays: ageDays,
      executionName: childExecutionName(selection.execution, accountId, userName),
    };
    return due;
  });
}

/**
 * ListCandidates: checks the fleet input, lists the users under the deployment's IAM path in each
 * account asked for (another account through its target role) with their tags and keys, and
 * returns who is due (oldest Active key older than maxKeyAgeDays) and who is skipped, and why. In
 * a fleet over several accounts, an account that cannot be listed is recorded in `failedAccounts`
 * and the others are listed; a fleet over one account fails as a whole (the state's retry lists it
 * again). Reads only; names and ids only.
 */
export const handler = async (event: unknown): Promise<Candidates> => {
  const { input, execution } = parseEvent(Event, event);
  const request = parseEvent(FleetInput, input, 'fleet input');
  const below = belowFloors(request.userDefaults, config().floors);
  if (below.length > 0) throw new InvalidInputError(`invalid fleet input: userDefaults: ${below.join('; ')}`);
  const accountIds = fleetAccounts(request, accountSettings());
  const env = Env.safeParse(process.env);
  if (!env.success) throw new InvalidInputError(`ROTATOR_USER_PATH: ${env.error.issues[0]?.message ?? ''}`);
  const selection: Selection = {
    request,
    path: env.data.ROTATOR_USER_PATH,
    tagKey: request.tagKey ?? DEFAULT_TAG_KEY,
    tagValue: request.tagValue ?? DEFAULT_TAG_VALUE,
    now: Date.now(),
    execution,
    // An execution ARN ends with the execution's name.
    executionName: execution.slice(execution.lastIndexOf(':') + 1),
  };

  const failedAccounts: FailedAccount[] = [];
  const listed = await pooled(accountIds, PARALLEL_ACCOUNTS, async (accountId) => {
    try {
      return { accountId, verdicts: await listAccount(accountId, selection) };
    } catch (error) {
      if (accountIds.length === 1 || !ACCOUNT_FAILURES.some((type) => error instanceof type)) throw error;
      const { name, message } = error as Error;
      failedAccounts.push({ accountId, error: name, cause: message.slice(0, MAX_ACCOUNT_CAUSE) });
      logger.warn('account not listed', { accountId, error: name });
      return undefined;
    }
  });
  const accounts = listed.filter((a) => a !== undefined);
  const verdicts = accounts.flatMap((a) => a.verdicts);
  // In the order asked for, whichever account failed first.
  failedAccounts.sort((a, b) => accountIds.indexOf(a.accountId) - accountIds.indexOf(b.accountId));

  const skipped = verdicts.filter((v): v is SkippedUser => 'reason' in v);
  // Tampering first: whatever the cap and the cause's length cut off, it is named and alerted.
  const failedUsers = verdicts
    .filter((v): v is FailedUser => 'error' in v)
    .sort((a, b) => Number(b.cause.includes(TAMPER_PHRASE)) - Number(a.cause.includes(TAMPER_PHRASE)));
  const candidates: Candidates = {
    due: verdicts.filter((v): v is DueUser => 'executionName' in v),
    failedUsers: failedUsers.slice(0, MAX_FAILED_LISTED),
    failedUsersTotal: failedUsers.length,
    skipped: skipped.slice(0, MAX_SKIPPED_LISTED),
    skippedTotal: skipped.length,
    accounts: accounts.map((a) => ({
      accountId: a.accountId,
      skippedTotal: a.verdicts.filter((v) => 'reason' in v).length,
    })),
    failedAccounts,
    dryRun: request.dryRun,
    maxConcurrency: request.maxConcurrency,
    userDefaults: request.userDefaults,
  };
  const bytes = Buffer.byteLength(JSON.stringify(candidates), 'utf8');
  if (candidates.due.length > MAX_FLEET_USERS || bytes > MAX_PAYLOAD_BYTES / 2) {
    throw new FleetTooLargeError(
      `${candidates.due.length} users are due (${bytes} bytes): one fleet execution takes at most ${MAX_FLEET_USERS}; narrow the selector (tagKey/tagValue), lower the path or list fewer accounts, and run the fleet again for the rest`,
    );
  }
  logger.info('candidates listed', {
    accounts: accounts.length,
    failedAccounts: failedAccounts.length,
    users: verdicts.length,
    due: candidates.due.length,
    skipped: candidates.skippedTotal,
  });
  return candidates;
};
