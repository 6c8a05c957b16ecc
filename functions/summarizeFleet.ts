import { parseEvent } from './commons/event.js';
import { SKIP_REASONS } from './commons/fleet-input.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

/** What each Map iteration of the fleet machine ends with. */
const Result = z.discriminatedUnion('outcome', [
  z.object({ userName: z.string(), outcome: z.enum(['rotated', 'planned', 'alreadyStarted']) }),
  z.object({ userName: z.string(), outcome: z.literal('failed'), error: z.string() }),
]);

const Event = z.object({
  results: z.array(Result),
  skipped: z.array(z.object({ userName: z.string(), reason: z.enum(SKIP_REASONS) })),
  /** All skipped users; `skipped` names only the first of them. Absent: `skipped` is all of them. */
  skippedTotal: z.optional(z.number().check(z.int(), z.minimum(0))),
  dryRun: z.boolean(),
});

export interface FleetSummary {
  dryRun: boolean;
  /** Users whose new key is stored and verified (their old keys retire later, in their own executions). */
  rotated: string[];
  /** Dry run: users whose rotation was planned. */
  planned: string[];
  failed: { userName: string; error: string }[];
  /** A retried iteration found its child already started: it runs on and alerts on its own. */
  alreadyStarted: string[];
  /** The first skipped users with their reasons (listCandidates names at most 200); `counts.skipped` counts all. */
  skipped: { userName: string; reason: string }[];
  counts: Record<'rotated' | 'planned' | 'failed' | 'alreadyStarted' | 'skipped', number>;
  /** The Fail state's cause when any child failed: the users and their error names. */
  failureCause?: string;
}

/** The Fail cause: Step Functions keeps at most 32 KiB of it. */
const MAX_CAUSE = 32_000;

/** SummarizeFleet: the fleet execution's output, from the Map's results. Pure: makes no calls. */
export const handler = async (event: unknown): Promise<FleetSummary> => {
  const { results, skipped, skippedTotal, dryRun } = parseEvent(Event, event);
  const named = (outcome: string) => results.filter((r) => r.outcome === outcome).map((r) => r.userName);
  const failed = results.flatMap((r) =>
    r.outcome === 'failed' ? [{ userName: r.userName, error: r.error }] : [],
  );
  const summary: FleetSummary = {
    dryRun,
    rotated: named('rotated'),
    planned: named('planned'),
    failed,
    alreadyStarted: named('alreadyStarted'),
    skipped,
    counts: {
      rotated: named('rotated').length,
      planned: named('planned').length,
      failed: failed.length,
      alreadyStarted: named('alreadyStarted').length,
      skipped: skippedTotal ?? skipped.length,
    },
  };
  if (failed.length > 0) {
    const list = failed.map((f) => `${f.userName} (${f.error})`).join(', ');
    const cause = `${failed.length} of ${results.length} rotations failed before their new key was stored and verified: ${list}. Each child execution's history says why and what it left (the error table in the README).`;
    summary.failureCause = cause.length > MAX_CAUSE ? `${cause.slice(0, MAX_CAUSE)}…` : cause;
  }
  logger.info('fleet summarized', { counts: summary.counts });
  return summary;
};
