import { isDeepStrictEqual } from 'node:util';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { AccountId } from './commons/accounts.js';
import { clientConfig, errorCode } from './commons/aws.js';
import { ExecutionNameTakenError, FleetResultsError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { SKIP_REASONS } from './commons/fleet-input.js';
import {
  type AccountPart,
  type ChildResult,
  type FleetSummary,
  fleetOutput,
  fleetSummary,
} from './commons/fleet-summary.js';
import { fleetSettings, getText, putJson, runKeys } from './commons/fleet-store.js';
import { pooled } from './commons/iam-listing.js';
import { logger } from './commons/logger.js';
import { publishFleetMetrics } from './commons/metrics.js';
import * as z from './commons/zod.js';

export type { AccountSummary, FleetSummary } from './commons/fleet-summary.js';

const Count = z.number().check(z.int(), z.minimum(0));

const Event = z.object({
  execution: z.string().check(z.minLength(1)),
  fleetStartedAt: z.iso.datetime({ offset: true }),
  dryRun: z.boolean(),
  /** ListAccounts' result: each account's due count, or the error its Catch recorded. */
  listed: z.array(
    z.union([
      z.object({ accountId: AccountId, due: Count }),
      z.object({ accountId: AccountId, error: z.string() }),
    ]),
  ),
  /** WriteManifest's count: the Distributed Map's items. */
  due: Count,
  /** The Distributed Map's output (none when nothing was due). */
  results: z.object({
    MapRunArn: z.optional(z.string()),
    ResultWriterDetails: z.optional(z.object({ Bucket: z.string(), Key: z.string() })),
  }),
});

/** What each child workflow of the Distributed Map ends with (its Output): its user's outcome. */
const Outcome = z.discriminatedUnion('outcome', [
  z.object({
    accountId: AccountId,
    userName: z.string(),
    outcome: z.enum(['rotated', 'planned']),
    /** Whom the answer names (the rotation's request, or reportToFleet's reading of its input). */
    answeredFor: z.optional(
      z.object({ accountId: z.optional(z.string()), userName: z.optional(z.string()) }),
    ),
  }),
  z.object({
    accountId: AccountId,
    userName: z.string(),
    outcome: z.literal('alreadyStarted'),
    stateMachineArn: z.string(),
    executionName: z.string(),
    // What this fleet's child gets besides userName, accountId, dryRun and its token.
    vaultPath: z.string(),
    userDefaults: z.record(z.string(), z.unknown()),
  }),
  z.object({
    accountId: AccountId,
    userName: z.string(),
    outcome: z.literal('failed'),
    error: z.pipe(
      z.string(),
      z.transform((name) => printableName(name)),
    ),
  }),
]);
type Outcome = z.infer<typeof Outcome>;
type AlreadyStarted = Extract<Outcome, { outcome: 'alreadyStarted' }>;

/** A child workflow's input (the Map's ItemSelector): its due user. */
const ChildInput = z.object({ user: z.object({ accountId: AccountId, userName: z.string() }) });

/** An account's record, as listCandidates writes it: its listing, or why it could not be listed. */
const AccountRecord = z.union([
  z.object({ accountId: AccountId, error: z.string(), cause: z.string() }),
  z.object({
    accountId: AccountId,
    due: Count,
    maxDuePerAccount: Count,
    skipped: z.array(z.object({ accountId: AccountId, userName: z.string(), reason: z.enum(SKIP_REASONS) })),
    failedUsers: z.array(
      z.object({ accountId: AccountId, userName: z.string(), error: z.string(), cause: z.string() }),
    ),
    deferred: z.array(z.object({ accountId: AccountId, userName: z.string(), keyAgeDays: Count })),
  }),
]);

/** ResultWriter's manifest.json: the result files, by the status of the child workflows in them. */
const WriterManifest = z.object({
  ResultFiles: z.record(z.string(), z.array(z.object({ Key: z.string() }))),
});

/** One child workflow in a result file (SUCCEEDED_n.json, FAILED_n.json, ...). */
const Entry = z.object({
  Status: z.optional(z.string()),
  Input: z.optional(z.string()),
  Output: z.optional(z.string()),
  Error: z.nullish(z.string()),
});
type Entry = z.infer<typeof Entry>;

/** Result files and descriptions read at once. */
const PARALLEL_READS = 8;

let client: SFNClient | undefined;

/** A JSON document of the bucket, checked against `schema`; FleetResultsError when it is not that. */
async function readJson<S extends z.core.$ZodType>(key: string, schema: S): Promise<z.infer<S> | undefined> {
  const text = await getText(key);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FleetResultsError(`s3://${fleetSettings().bucket}/${key} is not JSON`);
  }
  const checked = z.safeParse(schema, parsed);
  if (!checked.success)
    throw new FleetResultsError(`s3://${fleetSettings().bucket}/${key} is not what the fleet writes`);
  return checked.data;
}

const parsedJson = <S extends z.core.$ZodType>(
  text: string | undefined,
  schema: S,
): z.infer<S> | undefined => {
  if (text === undefined) return undefined;
  try {
    const checked = z.safeParse(schema, JSON.parse(text));
    return checked.success ? checked.data : undefined;
  } catch {
    return undefined;
  }
};

/**
 * An error name as a child reported it: whoever holds its task token chooses it (SendTaskFailure),
 * so control characters, which would reach the summary and a terminal, become `?`; 256 characters
 * at most, as Step Functions keeps.
 */
function printableName(name: string): string {
  return [...name.slice(0, 256)].map((c) => (/\p{Cc}/u.test(c) ? '?' : c)).join('');
}

/** The outcome one child workflow ended with; undefined when nothing in it names its user. */
function outcomeOf(entry: Entry): Outcome | undefined {
  if (entry.Status === 'SUCCEEDED') {
    const outcome = parsedJson(entry.Output, Outcome);
    if (outcome) return outcome;
  }
  const input = parsedJson(entry.Input, ChildInput);
  if (!input) return undefined;
  // A child workflow catches its StartRotation's every error: one that failed anyway (timed out,
  // aborted, or its output unreadable) is its user's failure.
  const error =
    entry.Status === 'SUCCEEDED'
      ? FleetResultsError.name
      : printableName(entry.Error ?? `Execution${entry.Status ?? 'Failed'}`);
  return { accountId: input.user.accountId, userName: input.user.userName, outcome: 'failed', error };
}

/** Every child workflow's outcome, from the ResultWriter's manifest and files; how many name no user. */
async function childOutcomes(
  details: { Bucket: string; Key: string } | undefined,
  due: number,
): Promise<{ outcomes: Outcome[]; unaccounted: number }> {
  if (details === undefined) {
    if (due > 0) throw new FleetResultsError(`${due} users were due and the Map wrote no results`);
    return { outcomes: [], unaccounted: 0 };
  }
  // Only the fleet's own bucket: the role may read nothing else, and the results came from the state.
  if (details.Bucket !== fleetSettings().bucket) {
    throw new FleetResultsError(`the Map's results are in ${details.Bucket}, not the fleet's bucket`);
  }
  const manifest = await readJson(details.Key, WriterManifest);
  if (!manifest)
    throw new FleetResultsError(`no ResultWriter manifest at s3://${details.Bucket}/${details.Key}`);
  const files = Object.values(manifest.ResultFiles).flat();
  const entries = (
    await pooled(files, PARALLEL_READS, async (file) => (await readJson(file.Key, z.array(Entry))) ?? [])
  ).flat();
  const outcomes = entries.flatMap((entry) => outcomeOf(entry) ?? []);
  return { outcomes, unaccounted: Math.max(entries.length - outcomes.length, due - outcomes.length, 0) };
}

/** The input this fleet starts a child with, but for its task token (statemachine/rotate-fleet.asl.json). */
function childInput(result: AlreadyStarted, dryRun: boolean): Record<string, unknown> {
  return {
    ...result.userDefaults,
    userName: result.userName,
    accountId: result.accountId,
    vaultPath: result.vaultPath,
    dryRun,
  };
}

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
async function checked(result: Outcome, dryRun: boolean, fleetStartedAt: string): Promise<ChildResult> {
  const { accountId, userName } = result;
  if (result.outcome === 'rotated' || result.outcome === 'planned') {
    // The child's input says dryRun as the fleet does, so a child plans in a dry run and rotates
    // otherwise. Another answer was sent with its task token by someone else (reportToFleet answers
    // whatever a rotation's input carries): no fact about the user.
    // A child of a fleet started before answers named their user has no answeredFor (an execution
    // keeps the definition it started with); every child of this definition has one, since its
    // StartRotation's ResultSelector fails on an answer that names none.
    const forThisUser =
      result.answeredFor === undefined ||
      (result.answeredFor.userName === userName && result.answeredFor.accountId === accountId);
    if (!forThisUser) {
      // A rotation of another user (or account) answered with this child's token, copied from its
      // input: the child's own rotation may still fail unseen. Not a fact about this user.
      logger.warn('a child was answered by a rotation of another user', { accountId, userName });
      return { accountId, userName, outcome: 'failed', error: FleetResultsError.name };
    }
    if (result.outcome === (dryRun ? 'planned' : 'rotated'))
      return { accountId, userName, outcome: result.outcome };
    logger.warn('a child was answered with what its input did not ask for', {
      accountId,
      userName,
      outcome: result.outcome,
      dryRun,
    });
    return { accountId, userName, outcome: 'failed', error: FleetResultsError.name };
  }
  if (result.outcome !== 'alreadyStarted') return result;
  const arn = `${result.stateMachineArn.replace(':stateMachine:', ':execution:')}:${result.executionName}`;
  const failure = await holderOutcome(result, dryRun, fleetStartedAt, arn);
  if (failure === undefined) return { accountId, userName, outcome: 'alreadyStarted' };
  logger.warn('the execution holding a child name is no rotation of this fleet', {
    executionArn: arn,
    why: failure.why,
  });
  return { accountId, userName, outcome: 'failed', error: failure.error };
}

/** Each account as listCandidates recorded it, or as ListAccounts' Catch did when it left no record. */
async function accountParts(
  execution: string,
  listed: z.infer<typeof Event>['listed'],
): Promise<AccountPart[]> {
  const keys = runKeys(execution);
  return pooled(listed, PARALLEL_READS, async (entry): Promise<AccountPart> => {
    const { accountId } = entry;
    const record = await readJson(keys.account(accountId), AccountRecord);
    if ('error' in entry) {
      // The record holds the error's message when listCandidates could write it.
      const cause = record && 'error' in record && record.error === entry.error ? record.cause : '';
      return { accountId, error: entry.error, cause };
    }
    if (!record || 'error' in record) {
      throw new FleetResultsError(`no listing of account ${accountId} at ${keys.account(accountId)}`);
    }
    return { accountId, listing: record };
  });
}

/**
 * SummarizeFleet: the fleet's outcome from the Map Run's results (ResultWriter's manifest and
 * files) and each account's listing, in all and by account: counts exact, and names, the full
 * lists written to `runs/<fleet>/summary.json` and the output naming the first of each. Describes
 * a child whose name an earlier execution held (states:DescribeExecution). A failure cause when any
 * user or account failed (deferred users are none).
 */
export const handler = async (event: unknown): Promise<FleetSummary> => {
  const parsed = parseEvent(Event, event);
  const { dryRun, fleetStartedAt } = parsed;
  const [children, accounts] = await Promise.all([
    childOutcomes(parsed.results.ResultWriterDetails, parsed.due),
    accountParts(parsed.execution, parsed.listed),
  ]);
  const results = await pooled(children.outcomes, PARALLEL_READS, (r) => checked(r, dryRun, fleetStartedAt));
  const summaryKey = runKeys(parsed.execution).summary;
  const summary = fleetSummary({
    dryRun,
    accounts,
    results,
    unaccounted: children.unaccounted,
    bucket: fleetSettings().bucket,
    summaryKey,
  });
  await putJson(summaryKey, summary);
  for (const account of summary.accounts) {
    if (account.error === undefined) {
      publishFleetMetrics(account.accountId, {
        UsersRotated: account.counts.rotated,
        UsersFailed: account.counts.failed,
      });
    }
  }
  logger.info('fleet summarized', {
    counts: summary.counts,
    accounts: summary.accountCounts,
    unaccounted: children.unaccounted,
  });
  return fleetOutput(summary);
};
