import {
  type IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  type User,
} from '@aws-sdk/client-iam';
import { awsFailure } from './aws.js';

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

/** The users under an IAM path, every page. */
export async function usersUnder(iam: IAMClient, path: string): Promise<User[]> {
  return allPages('iam:ListUsers', async (Marker) => {
    const out = await iam.send(new ListUsersCommand({ PathPrefix: path, Marker }));
    return { items: out.Users ?? [], marker: out.Marker, more: out.IsTruncated };
  });
}

/** A user's tags (by key) and access keys, every page. */
export async function userState(iam: IAMClient, userName: string) {
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
export async function pooled<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
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
 * Takes items in order, at most `limit` at once, until `wanted` of them were taken (`work` says
 * whether it took one): one that is not taken frees its place for the next. Returns how many items
 * were tried; those after them were not.
 */
export async function takeInOrder<T>(
  items: T[],
  wanted: number,
  limit: number,
  work: (item: T) => Promise<boolean>,
): Promise<number> {
  let next = 0;
  let taken = 0;
  let running = 0;
  const worker = async () => {
    while (next < items.length && taken + running < wanted) {
      const item = items[next++] as T;
      running += 1;
      try {
        if (await work(item)) taken += 1;
      } finally {
        running -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return next;
}
