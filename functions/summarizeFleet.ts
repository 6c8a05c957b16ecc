import { isDeepStrictEqual } from 'node:util';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig, errorCode } from './commons/aws.js';
import { ExecutionNameTakenError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { type FailedAccount, SKIP_REASONS } from './commons/fleet-input.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

// `accountId`, `accounts` and `failedAccounts` are optional: a fleet started before they existed
// ends with a summary that is not grouped by account.
const AccountId = z.optional(z.string());

/** What each Map iteration of the fleet machine ends with. */
const Result = z.discriminatedUnion('outcome', [
  z.object({ accountId: AccountId, userName: z.string(), outcome: z.enum(['rotated', 'planned']) }),
  z.object({
    accountId: AccountId,
    userName: z.string(),
    outcome: z.literal('alreadyStarted'),
    // Absent in fleets started before the check.
    stateMachineArn: z.optional(z.string()),
    executionName: z.optional(z.string()),
    // What this fleet's child gets besides userName, accountId, dryRun and its token.
    vaultPath: z.optional(z.string()),
    userDefaults: z.optional(z.record(z.string(), z.unknown())),
  }),
  z.object({ accountId: AccountId, userName: z.string(), outcome: z.literal('failed'), error: z.string() }),
]);

const Count = z.number().check(z.int(), z.minimum(0));

const Event = z.object({
  results: z.array(Result),
  /** Due users listCandidates could not place: no child was started. */
  failedUsers: z._default(
    z.array(z.object({ accountId: z.string(), userName: z.string(), error: z.string(), cause: z.string() })),
    [],
  ),
  /** All of them; `failedUsers` names only the first. */
  failedUsersTotal: z.optional(Count),
  fleetStartedAt: z.optional(z.iso.datetime({ offset: true })),
  skipped: z.array(z.object({ accountId: AccountId, userName: z.string(), reason: z.enum(SKIP_REASONS) })),
  /** All skipped users; `skipped` names only the first of them. Absent: `skipped` is all of them. */
  skippedTotal: z.optional(Count),
  /** The accounts listed, each with its own count of skipped users. */
  accounts: z._default(z.array(z.object({ accountId: z.string(), skippedTotal: Count })), []),
  failedAccounts: z._default(
    z.array(z.object({ accountId: z.string(), error: z.string(), cause: z.string() })),
    [],
  ),
  dryRun: z.boolean(),
});

type Outcome = 'rotated' | 'planned' | 'failed' | 'alreadyStarted' | 'skipped';

/** Who became what, in one account or in the whole fleet. */
interface Outcomes {
  /** Users whose new key is stored and verified (their old keys retire later, in their own executions). */
  rotated: string[];
  /** Dry run: users whose rotation was planned. */
  planned: string[];
  failed: { userName: string; error: string }[];
  /** A retried iteration found its child already started: it runs on and alerts on its own. */
  alreadyStarted: string[];
  /** The first skipped users with their reasons (listCandidates names at most 200); `counts.skipped` counts all. */
  skipped: { userName: string; reason: string }[];
  counts: Record<Outcome, number>;
}

/** One account's part of the fleet; `error` when its users could not be listed (none was started). */
export interface AccountSummary extends Outcomes {
  accountId: string;
  error?: string;
}

export interface FleetSummary extends Outcomes {
  dryRun: boolean;
  /** The accounts listed, with their users' outcomes, then those that could not be listed. */
  accounts: AccountSummary[];
  /** The accounts whose users could not be listed, with the error and its message. */
  failedAccounts: FailedAccount[];
  /** The Fail state's cause when any child failed or any account could not be listed. */
  failureCause?: string;
}

/** The Fail cause: Step Functions keeps at most 32 KiB of it. */
const MAX_CAUSE = 32_000;

type Event = z.infer<typeof Event>;
type Result = z.infer<typeof Result>;

let client: SFNClient | undefined;

/** The input this fleet starts a child with, but for its task token (statemachine/rotate-fleet.asl.json). */
function childInput(result: AlreadyStarted, dryRun: boolean): Record<string, unknown> {
  return {
    ...result.userDefaults,
    userName: result.userName,
    accountId: result.accountId,
    ...(result.vaultPath !== undefined ? { vaultPath: result.vaultPath } : {}),
    dryRun,
  };
}

type AlreadyStarted = Extract<Result, { outcome: 'alreadyStarted' }>;

/**
 * What the execution holding a child's name says of the user: anyone allowed StartExecution can
 * predict the name and start, say, a dry run or a rotation with other settings under it. It is this
 * fleet's rotation of the user only if its input is exactly what this fleet sends (and a task token),
 * and it started after the fleet did; then it is already started, or failed if it ended so.
 */
async function holderOutcome(
  result: AlreadyStarted,
  dryRun: boolean,
  fleetStartedAt: string,
  arn: string,
): Promise<{ error: string; why: string } | undefined> {
  client ??= new SFNClient(clientConfig());
  const taken = (why: string) => ({ error: ExecutionNameTakenError.name, why });
  try {
    const out = await client.send(new DescribeExecutionCommand({ executionArn: arn }));
    const input: unknown = JSON.parse(out.input ?? 'null');
    if (typeof input !== 'object' || input === null) return taken('its input is not an object');
    const { fleetTaskToken, ...rest } = input as Record<string, unknown>;
    if (typeof fleetTaskToken !== 'string') return taken('its input carries no fleet task token');
    if (!isDeepStrictEqual(rest, childInput(result, dryRun))) {
      return taken('its input is not what this fleet sends the user');
    }
    // Both times are Step Functions' own: no clock skew to allow for.
    if ((out.startDate?.getTime() ?? 0) < Date.parse(fleetStartedAt)) {
      return taken('it started before this fleet');
    }
    if (out.status === 'FAILED' || out.status === 'ABORTED' || out.status === 'TIMED_OUT') {
      return { error: out.error ?? `Execution${out.status}`, why: `it ended ${out.status}` };
    }
    return undefined;
  } catch (error) {
    return taken(`it could not be described (${errorCode(error)})`);
  }
}

/** The result, with an `alreadyStarted` child that is not this fleet's, or that failed, a failure. */
async function checked(result: Result, dryRun: boolean, fleetStartedAt: string | undefined): Promise<Result> {
  if (result.outcome !== 'alreadyStarted' || !result.stateMachineArn || !result.executionName) return result;
  if (fleetStartedAt === undefined) return result;
  const arn = `${result.stateMachineArn.replace(':stateMachine:', ':execution:')}:${result.executionName}`;
  const failure = await holderOutcome(result, dryRun, fleetStartedAt, arn);
  if (failure === undefined) return result;
  logger.warn('the execution holding a child name is no rotation of this fleet', {
    executionArn: arn,
    why: failure.why,
  });
  return { accountId: result.accountId, userName: result.userName, outcome: 'failed', error: failure.error };
}

/** The outcomes of the results and skipped users given; `skippedTotal` counts the skipped ones. */
function outcomes(results: Event['results'], skipped: Event['skipped'], skippedTotal: number): Outcomes {
  const named = (outcome: string) => results.filter((r) => r.outcome === outcome).map((r) => r.userName);
  const failed = results.flatMap((r) =>
    r.outcome === 'failed' ? [{ userName: r.userName, error: r.error }] : [],
  );
  return {
    rotated: named('rotated'),
    planned: named('planned'),
    failed,
    alreadyStarted: named('alreadyStarted'),
    skipped: skipped.map(({ userName, reason }) => ({ userName, reason })),
    counts: {
      rotated: named('rotated').length,
      planned: named('planned').length,
      failed: failed.length,
      alreadyStarted: named('alreadyStarted').length,
      skipped: skippedTotal,
    },
  };
}

/**
 * SummarizeFleet: the fleet execution's output, from the Map's results and the users listCandidates
 * could not place, in all and by account. Its only call describes a child whose name an earlier
 * execution held (states:DescribeExecution).
 */
export const handler = async (event: unknown): Promise<FleetSummary> => {
  const parsed = parseEvent(Event, event);
  const { skipped, skippedTotal, accounts, failedAccounts, failedUsers, dryRun } = parsed;
  const children = await Promise.all(parsed.results.map((r) => checked(r, dryRun, parsed.fleetStartedAt)));
  const results: Result[] = [
    ...children,
    ...failedUsers.map((f) => ({
      accountId: f.accountId,
      userName: f.userName,
      outcome: 'failed' as const,
      error: f.error,
    })),
  ];
  const inAccount = <T extends { accountId?: string | undefined }>(items: T[], accountId: string) =>
    items.filter((item) => item.accountId === accountId);
  const listed = accounts.map((a): AccountSummary => ({
    accountId: a.accountId,
    ...outcomes(inAccount(results, a.accountId), inAccount(skipped, a.accountId), a.skippedTotal),
  }));
  const unlisted = failedAccounts.map((f): AccountSummary => ({
    accountId: f.accountId,
    error: f.error,
    ...outcomes([], [], 0),
  }));
  const summary: FleetSummary = {
    dryRun,
    ...outcomes(results, skipped, skippedTotal ?? skipped.length),
    accounts: [...listed, ...unlisted],
    failedAccounts,
  };
  const notStarted = Math.max(parsed.failedUsersTotal ?? 0, failedUsers.length);
  // Counted all, named only the first of them.
  summary.counts.failed += notStarted - failedUsers.length;
  // Users are named with their account when the fleet spans several.
  const several = summary.accounts.length > 1;
  const problems: string[] = [];
  // Users never started are named below, with their cause.
  const failed = children.flatMap((r) => (r.outcome === 'failed' ? [r] : []));
  if (failed.length > 0) {
    const list = failed
      .map((f) => `${several && f.accountId ? `${f.accountId}/` : ''}${f.userName} (${f.error})`)
      .join(', ');
    problems.push(
      `${failed.length} of ${children.length} rotations failed before their new key was stored and verified: ${list}. Each child execution's history says why and what it left (the error table in the README).`,
    );
  }
  if (failedUsers.length > 0) {
    const list = failedUsers
      .map((f) => `${several ? `${f.accountId}/` : ''}${f.userName} (${f.error}: ${f.cause})`)
      .join(', ');
    const more = notStarted > failedUsers.length ? ` and ${notStarted - failedUsers.length} more` : '';
    problems.push(`${notStarted} user(s) were not started: ${list}${more}.`);
  }
  if (failedAccounts.length > 0) {
    const list = failedAccounts.map((f) => `${f.accountId} (${f.error}: ${f.cause})`).join(', ');
    problems.push(
      `${failedAccounts.length} account(s) could not be listed, so none of their users was started: ${list}.`,
    );
  }
  if (problems.length > 0) {
    const cause = problems.join(' ');
    summary.failureCause = cause.length > MAX_CAUSE ? `${cause.slice(0, MAX_CAUSE)}…` : cause;
  }
  logger.info('fleet summarized', {
    counts: summary.counts,
    accounts: summary.accounts.length,
    failedAccounts: failedAccounts.length,
  });
  return summary;
};
