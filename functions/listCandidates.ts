import { ListAccessKeysCommand, ListUsersCommand, ListUserTagsCommand, type User } from '@aws-sdk/client-iam';
import { awsFailure } from './commons/aws.js';
import { iamClients } from './commons/clients/iam.js';
import { config } from './commons/config.js';
import { FleetTooLargeError, InvalidInputError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  type Candidates,
  childExecutionName,
  DEFAULT_TAG_KEY,
  DEFAULT_TAG_VALUE,
  type DueUser,
  FleetInput,
  MAX_FLEET_USERS,
  MAX_PAYLOAD_BYTES,
  MAX_SKIPPED_LISTED,
  type SkippedUser,
  type SkipReason,
} from './commons/fleet-input.js';
import { belowFloors } from './commons/input.js';
import { logger } from './commons/logger.js';
import { CLAIM_TTL_MS, claimOf } from './commons/ownership.js';
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
/** Users read at once: each needs ListUserTags and ListAccessKeys, and IAM throttles per account. */
const PARALLEL_USERS = 4;

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

async function usersUnder(path: string): Promise<User[]> {
  return allPages('iam:ListUsers', async (Marker) => {
    const out = await iamClients().iam.send(new ListUsersCommand({ PathPrefix: path, Marker }));
    return { items: out.Users ?? [], marker: out.Marker, more: out.IsTruncated };
  });
}

async function userState(userName: string) {
  const [tags, keys] = await Promise.all([
    allPages('iam:ListUserTags', async (Marker) => {
      const out = await iamClients().iam.send(new ListUserTagsCommand({ UserName: userName, Marker }));
      return { items: out.Tags ?? [], marker: out.Marker, more: out.IsTruncated };
    }),
    allPages('iam:ListAccessKeys', async (Marker) => {
      const out = await iamClients().iam.send(new ListAccessKeysCommand({ UserName: userName, Marker }));
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

/**
 * ListCandidates: checks the fleet input, lists the users under the deployment's IAM path with
 * their tags and keys, and returns who is due (oldest Active key older than maxKeyAgeDays) and who
 * is skipped, and why. Reads only; names and ids only.
 */
export const handler = async (event: unknown): Promise<Candidates> => {
  const { input, execution } = parseEvent(Event, event);
  const request = parseEvent(FleetInput, input, 'fleet input');
  const below = belowFloors(request.userDefaults, config().floors);
  if (below.length > 0) throw new InvalidInputError(`invalid fleet input: userDefaults: ${below.join('; ')}`);
  const env = Env.safeParse(process.env);
  if (!env.success) throw new InvalidInputError(`ROTATOR_USER_PATH: ${env.error.issues[0]?.message ?? ''}`);
  const path = env.data.ROTATOR_USER_PATH;
  const tagKey = request.tagKey ?? DEFAULT_TAG_KEY;
  const tagValue = request.tagValue ?? DEFAULT_TAG_VALUE;
  const now = Date.now();

  const users = (await usersUnder(path)).flatMap((u) => (u.UserName ? [u.UserName] : []));
  const verdicts = await pooled(users, PARALLEL_USERS, async (userName) => {
    const { tags, keys } = await userState(userName);
    const skip = (reason: SkipReason): SkippedUser => ({ userName, reason });
    if (!request.allUsersInPath && tags[tagKey] !== tagValue) return skip('notTagged');
    const claim = claimOf(tags);
    if (claim && now - claim.claimedAt < CLAIM_TTL_MS) return skip('rotationRunning');
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
    const due: DueUser = {
      userName,
      accessKeyId: oldest.AccessKeyId,
      keyAgeDays: ageDays,
      executionName: childExecutionName(execution, userName),
    };
    return due;
  });

  const skipped = verdicts.filter((v): v is SkippedUser => 'reason' in v);
  const candidates: Candidates = {
    due: verdicts.filter((v): v is DueUser => 'executionName' in v),
    skipped: skipped.slice(0, MAX_SKIPPED_LISTED),
    skippedTotal: skipped.length,
    dryRun: request.dryRun,
    maxConcurrency: request.maxConcurrency,
    userDefaults: request.userDefaults,
  };
  const bytes = Buffer.byteLength(JSON.stringify(candidates), 'utf8');
  if (candidates.due.length > MAX_FLEET_USERS || bytes > MAX_PAYLOAD_BYTES / 2) {
    throw new FleetTooLargeError(
      `${candidates.due.length} users are due (${bytes} bytes): one fleet execution takes at most ${MAX_FLEET_USERS}; narrow the selector (tagKey/tagValue) or lower the path, and run the fleet again for the rest`,
    );
  }
  logger.info('candidates listed', {
    users: users.length,
    due: candidates.due.length,
    skipped: candidates.skippedTotal,
  });
  return candidates;
};
