import type { AccountListing, FailedAccount, FailedUser, SkipReason } from './fleet-input.js';
import { TAMPER_PHRASE } from './pin.js';

/** What became of one due user whose child was started (or found started): from the Map Run's results. */
export type ChildResult =
  | { accountId: string; userName: string; outcome: 'rotated' | 'planned' | 'alreadyStarted' }
  | { accountId: string; userName: string; outcome: 'failed'; error: string };

type Outcome = 'rotated' | 'planned' | 'failed' | 'alreadyStarted' | 'skipped' | 'deferred';

/** Who became what, in one account or in the whole fleet. */
export interface Outcomes {
  /** Users whose new key is stored and verified (their old keys retire later, in their own executions). */
  rotated: string[];
  /** Dry run: users whose rotation was planned. */
  planned: string[];
  /** Users whose rotation failed, or that were never started (listing or placement), with the error's name. */
  failed: { userName: string; error: string }[];
  /** A retried item found its child already started: it runs on and alerts on its own. */
  alreadyStarted: string[];
  skipped: { userName: string; reason: SkipReason }[];
  /** Due beyond the account's maxDuePerAccount: not started, not failed; the next run takes them. */
  deferred: string[];
  /** Exact, however many names the lists above hold. */
  counts: Record<Outcome, number>;
}

/** One account's part of the fleet; `error` when its users could not be listed (none was started). */
export interface AccountSummary extends Outcomes {
  accountId: string;
  error?: string;
}

export interface FleetSummary extends Outcomes {
  dryRun: boolean;
  /** The accounts listed, in the order asked for, then those that could not be listed. */
  accounts: AccountSummary[];
  /** The accounts whose users could not be listed, with the error and its message. */
  failedAccounts: FailedAccount[];
  /** Accounts in the run, and of them not listed: exact, however many `accounts` names. */
  accountCounts: { listed: number; failed: number };
  /** Where the whole summary is (every name of every list): `s3://<bucket>/<summaryKey>`. */
  bucket: string;
  summaryKey: string;
  /** The Fail state's cause when any user failed or any account could not be listed. */
  failureCause?: string;
}

/** One account as the fleet found it: its listing, or why it could not be listed. */
export type AccountPart = { accountId: string; listing: AccountListing } | FailedAccount;

/**
 * How much of each list the fleet's output names (the whole summary, in S3, names all): 10,000
 * users over 1,000 accounts stay far under Step Functions' 256 KiB (test/unit/summarizeFleet's
 * byte budget).
 */
export const OUTPUT_LIMITS = {
  /** rotated, planned, alreadyStarted and deferred, each. */
  named: 50,
  /** Failed users, tampering first. */
  failed: 100,
  skipped: 100,
  /** Accounts named in `accounts` (those with a failure first). */
  accounts: 10,
  /** Each list of an account named in `accounts`. */
  accountNamed: 5,
  /** Accounts named in `failedAccounts`, with their messages. */
  failedAccounts: 5,
  /** Failed children named in the failure cause. */
  cause: 20,
  /** Users not started, and accounts not listed, named in the failure cause with their messages (500 characters each). */
  causeWithMessages: 5,
};

/** The Fail cause: Step Functions keeps at most 32 KiB of it. */
const MAX_CAUSE = 32_000;

const tampered = (f: { cause?: string }) => Number(f.cause?.includes(TAMPER_PHRASE) ?? false);

/** Who became what, from the children's results and the listing (failed: tampering first, then the children). */
function outcomes(
  results: ChildResult[],
  listing: Pick<AccountListing, 'failedUsers' | 'skipped' | 'deferred'>,
): Outcomes {
  const named = (outcome: Outcome) => results.filter((r) => r.outcome === outcome).map((r) => r.userName);
  const failed = [
    ...listing.failedUsers.filter((f) => tampered(f) === 1),
    ...results.flatMap((r) => (r.outcome === 'failed' ? [r] : [])),
    ...listing.failedUsers.filter((f) => tampered(f) === 0),
  ].map(({ userName, error }) => ({ userName, error }));
  const part = {
    rotated: named('rotated'),
    planned: named('planned'),
    failed,
    alreadyStarted: named('alreadyStarted'),
    skipped: listing.skipped.map(({ userName, reason }) => ({ userName, reason })),
    deferred: listing.deferred.map((d) => d.userName),
  };
  return {
    ...part,
    counts: {
      rotated: part.rotated.length,
      planned: part.planned.length,
      failed: part.failed.length,
      alreadyStarted: part.alreadyStarted.length,
      skipped: part.skipped.length,
      deferred: part.deferred.length,
    },
  };
}

const NONE: Pick<AccountListing, 'failedUsers' | 'skipped' | 'deferred'> = {
  failedUsers: [],
  skipped: [],
  deferred: [],
};

export interface SummaryInput {
  dryRun: boolean;
  /** Every account of the run, in the order asked for. */
  accounts: AccountPart[];
  /** Every child's result (results of users in accounts not in `accounts` are not expected). */
  results: ChildResult[];
  /** Due users whose child's result could not be told (no result, or one naming no user). */
  unaccounted: number;
  bucket: string;
  summaryKey: string;
}

/** A list of `items` as the cause names them: the first few, and how many more. */
function namedList<T>(items: T[], limit: number, name: (item: T) => string): string {
  const shown = items.slice(0, limit).map(name).join(', ');
  const more = items.length - limit;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** Why the fleet is incomplete, naming the first of each kind of failure; undefined when nothing failed. */
function failureCause(input: SummaryInput, several: boolean): string | undefined {
  const at = (accountId: string) => (several ? `${accountId}/` : '');
  const listed = input.accounts.flatMap((a) => ('listing' in a ? [a] : []));
  const failedAccounts = input.accounts.flatMap((a) => ('listing' in a ? [] : [a]));
  const children = input.results;
  const childFailures = children.flatMap((r) => (r.outcome === 'failed' ? [r] : []));
  const notStarted: FailedUser[] = listed.flatMap((a) => a.listing.failedUsers);
  notStarted.sort((a, b) => tampered(b) - tampered(a));
  const problems: string[] = [];
  let cut = false;
  if (childFailures.length > 0) {
    cut ||= childFailures.length > OUTPUT_LIMITS.cause;
    const list = namedList(
      childFailures,
      OUTPUT_LIMITS.cause,
      (f) => `${at(f.accountId)}${f.userName} (${f.error})`,
    );
    problems.push(
      `${childFailures.length} of ${children.length} rotations failed before their new key was stored and verified: ${list}. Each child execution's history says why and what it left (the error table in the README).`,
    );
  }
  if (notStarted.length > 0) {
    cut ||= notStarted.length > OUTPUT_LIMITS.causeWithMessages;
    const list = namedList(
      notStarted,
      OUTPUT_LIMITS.causeWithMessages,
      (f) => `${at(f.accountId)}${f.userName} (${f.error}: ${f.cause})`,
    );
    problems.push(`${notStarted.length} user(s) were not started: ${list}.`);
  }
  if (failedAccounts.length > 0) {
    cut ||= failedAccounts.length > OUTPUT_LIMITS.causeWithMessages;
    const list = namedList(
      failedAccounts,
      OUTPUT_LIMITS.causeWithMessages,
      (f) => `${f.accountId} (${f.error}${f.cause ? `: ${f.cause}` : ''})`,
    );
    problems.push(
      `${failedAccounts.length} account(s) could not be listed, so none of their users was started: ${list}.`,
    );
  }
  if (input.unaccounted > 0) {
    problems.push(
      `${input.unaccounted} due user(s) have no result the fleet can read in the Map Run's results: look at the Map Run's failed child workflows.`,
    );
  }
  if (problems.length === 0) return undefined;
  if (cut) problems.push(`The full lists: s3://${input.bucket}/${input.summaryKey}.`);
  const cause = problems.join(' ');
  return cause.length > MAX_CAUSE ? `${cause.slice(0, MAX_CAUSE)}…` : cause;
}

/** The whole summary: every account, every name. */
export function fleetSummary(input: SummaryInput): FleetSummary {
  const order = new Map(input.accounts.map((a, index) => [a.accountId, index]));
  // By account in the order asked for, then by name: the Map Run's results come in no order.
  const results = [...input.results].sort(
    (a, b) =>
      (order.get(a.accountId) ?? 0) - (order.get(b.accountId) ?? 0) || a.userName.localeCompare(b.userName),
  );
  const listings = input.accounts.flatMap((a) => ('listing' in a ? [a] : []));
  const failedAccounts = input.accounts.flatMap((a) => ('listing' in a ? [] : [a]));
  const byAccount = new Map<string, ChildResult[]>();
  for (const r of results) {
    const theirs = byAccount.get(r.accountId);
    if (theirs) theirs.push(r);
    else byAccount.set(r.accountId, [r]);
  }
  const listed = listings.map((a): AccountSummary => ({
    accountId: a.accountId,
    ...outcomes(byAccount.get(a.accountId) ?? [], a.listing),
  }));
  const unlisted = failedAccounts.map((f): AccountSummary => ({
    accountId: f.accountId,
    error: f.error,
    ...outcomes([], NONE),
  }));
  const everyListing = {
    failedUsers: listings.flatMap((a) => a.listing.failedUsers),
    skipped: listings.flatMap((a) => a.listing.skipped),
    deferred: listings.flatMap((a) => a.listing.deferred),
  };
  const accounts = [...listed, ...unlisted];
  const cause = failureCause({ ...input, results }, accounts.length > 1);
  return {
    dryRun: input.dryRun,
    ...outcomes(results, everyListing),
    accounts,
    failedAccounts: failedAccounts.map(({ accountId, error, cause: why }) => ({
      accountId,
      error,
      cause: why,
    })),
    accountCounts: { listed: listed.length, failed: failedAccounts.length },
    bucket: input.bucket,
    summaryKey: input.summaryKey,
    ...(cause === undefined ? {} : { failureCause: cause }),
  };
}

/** A part with each list cut to `n` names; the counts stay exact. */
function capped<T extends Outcomes>(part: T, n: { named: number; failed: number; skipped: number }): T {
  return {
    ...part,
    rotated: part.rotated.slice(0, n.named),
    planned: part.planned.slice(0, n.named),
    failed: part.failed.slice(0, n.failed),
    alreadyStarted: part.alreadyStarted.slice(0, n.named),
    skipped: part.skipped.slice(0, n.skipped),
    deferred: part.deferred.slice(0, n.named),
  };
}

/**
 * The fleet's output: the summary with each list cut to OUTPUT_LIMITS (counts exact); the accounts
 * named are those with a failure first, shown in the summary's order.
 */
export function fleetOutput(summary: FleetSummary): FleetSummary {
  const a = OUTPUT_LIMITS.accountNamed;
  const troubled = (s: AccountSummary) => s.error !== undefined || s.counts.failed > 0;
  const chosen = new Set(
    [...summary.accounts.filter(troubled), ...summary.accounts.filter((s) => !troubled(s))].slice(
      0,
      OUTPUT_LIMITS.accounts,
    ),
  );
  return {
    ...capped(summary, OUTPUT_LIMITS),
    accounts: summary.accounts
      .filter((s) => chosen.has(s))
      .map((s) => capped(s, { named: a, failed: a, skipped: a })),
    failedAccounts: summary.failedAccounts.slice(0, OUTPUT_LIMITS.failedAccounts),
  };
}
