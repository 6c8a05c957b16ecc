import type { HistoryEvent as AwsHistoryEvent } from '@aws-sdk/client-sfn';
import { expect } from 'vitest';
import type { Observed } from '../../local-stack/provision.js';
import type { RotationReport } from '../../local-stack/rotation.js';
import type { Execution } from '../../local-stack/sfn/executions.js';
import type { HistoryEvent } from '../../local-stack/state-machine.js';

const STATE_EVENT = /^(\w+?)State(Entered|Exited)$/;

const parsed = (text: string | undefined): unknown => (text === undefined ? undefined : JSON.parse(text));

/**
 * A Step Functions history (AWS's event types, as the local endpoint records a fleet's children) as
 * the local runner reports one: the state events test/support/invariants.ts reads.
 */
export function runnerHistory(events: AwsHistoryEvent[]): HistoryEvent[] {
  return events.flatMap((event): HistoryEvent[] => {
    const [, type = '', phase] = STATE_EVENT.exec(event.type ?? '') ?? [];
    const timestamp = event.timestamp?.getTime() ?? 0;
    if (phase === 'Entered') {
      const details = event.stateEnteredEventDetails;
      const state = { name: details?.name ?? '', type, input: parsed(details?.input) };
      return [{ type: 'StateEntered', timestamp, state }];
    }
    if (phase === 'Exited') {
      const details = event.stateExitedEventDetails;
      const state = { name: details?.name ?? '', type, output: parsed(details?.output) };
      return [{ type: 'StateExited', timestamp, state }];
    }
    return [];
  });
}

/**
 * A fleet child's rotation as expectInvariants reads an in-process one: its execution on the local
 * endpoint, the user before the fleet and after the child ended, and the log lines that name it.
 */
export function childReport(
  execution: Execution,
  user: { userName: string; before: Observed; after: Observed },
  logs: string[],
): RotationReport & { logs: string[] } {
  const history = runnerHistory(execution.history);
  if (execution.status !== 'SUCCEEDED' && execution.status !== 'FAILED') {
    throw new Error(`${execution.arn} has not ended as a rotation ends: ${execution.status}`);
  }
  return {
    status: execution.status,
    error:
      execution.status === 'FAILED' ? { Error: execution.error ?? '', Cause: execution.cause ?? '' } : null,
    user: user.userName,
    states: history.flatMap((e) => (e.type === 'StateEntered' && e.state ? [e.state.name] : [])),
    history,
    before: user.before,
    after: user.after,
    calls: {},
    durationMs: (execution.stopDate?.getTime() ?? 0) - execution.startDate.getTime(),
    logs,
  };
}

/** A run of the secret-key alphabet long enough to hold a secret access key (40 characters). */
const SECRET_ALPHABET_RUN = /[A-Za-z0-9/+]{40,}/g;

/**
 * Fails when any of `secrets` appears in any of the texts: every 40-character window of every run
 * of the secret alphabet is looked up, so thousands of secrets cost one pass over the texts.
 */
export function expectNoKnownSecret(texts: Iterable<string>, secrets: ReadonlySet<string>): void {
  let leaked = 0;
  for (const text of texts) {
    for (const [run] of text.matchAll(SECRET_ALPHABET_RUN)) {
      for (let at = 0; at + 40 <= run.length; at++) if (secrets.has(run.slice(at, at + 40))) leaked += 1;
    }
  }
  expect(leaked, 'secret access keys leaked').toBe(0);
}
