import type { DescribeExecutionOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { afterStop, errorTable } from './error-table.js';
import { redactDeep } from '../functions/commons/redact.js';
import { statesOf } from './progress.js';

/** The document `rotate --wait --json`, `history --json` and `npm start -- --json` print, redacted. */
export interface OutcomeDocument {
  status: string;
  error: { Error: string; Cause: string } | null;
  executionArn: string;
  states: string[];
  history: HistoryEvent[];
  durationMs: number;
}

export function outcomeDocument(
  described: DescribeExecutionOutput,
  history: HistoryEvent[],
): OutcomeDocument {
  const end = described.stopDate ?? new Date();
  // Task tokens and the sealed ciphertext ride in the history's JSON strings: never printed.
  return redactDeep({
    status: described.status ?? 'UNKNOWN',
    error:
      described.error !== undefined || described.status === 'FAILED'
        ? { Error: described.error ?? '', Cause: described.cause ?? '' }
        : null,
    executionArn: described.executionArn ?? '',
    states: statesOf(history),
    history,
    durationMs: end.getTime() - (described.startDate?.getTime() ?? end.getTime()),
  }) as OutcomeDocument;
}

/** The output a state exited with, parsed (history with execution data only). */
function exitOutput(history: HistoryEvent[], state: string): Record<string, unknown> | undefined {
  const exited = history.findLast(
    (e) => e.stateExitedEventDetails?.name === state && e.stateExitedEventDetails.output !== undefined,
  );
  try {
    return JSON.parse(exited?.stateExitedEventDetails?.output ?? 'null') as
      Record<string, unknown> | undefined;
  } catch {
    return undefined;
  }
}

const field = (value: unknown, ...path: string[]): string | undefined => {
  let node = value;
  for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
  return typeof node === 'string' || typeof node === 'number' ? String(node) : undefined;
};

/** What happened, for people: status, keys, Vault version, and for a failure what is left and what to do. */
export function outcomeSummary(described: DescribeExecutionOutput, history: HistoryEvent[]): string {
  const doc = outcomeDocument(described, history);
  const input = JSON.parse(described.input ?? '{}') as { userName?: string };
  const validated = exitOutput(history, 'ValidateInput');
  const created = exitOutput(history, 'CreateKey');
  const stored = exitOutput(history, 'StoreInVault');
  const lines = [
    '',
    `Rotation ${doc.status} for ${input.userName ?? '?'} in ${doc.durationMs} ms`,
    `  execution:    ${doc.executionArn}`,
  ];
  const newKey = field(created, 'created', 'accessKeyId');
  if (newKey) lines.push(`  new key:      ${newKey}`);
  const oldKeys = (created?.created as { oldAccessKeyIds?: string[] } | undefined)?.oldAccessKeyIds;
  if (oldKeys?.length) lines.push(`  old keys:     ${oldKeys.join(', ')}`);
  const path = field(validated, 'request', 'vaultPath');
  const version = field(stored, 'stored', 'version');
  if (path) lines.push(`  Vault path:   ${path}${version ? ` (version ${version})` : ''}`);
  if (doc.error) lines.push(`  error:        ${doc.error.Error}`, `  cause:        ${doc.error.Cause}`);
  if (doc.status === 'ABORTED') lines.push(`  left behind:  ${afterStop(doc.states)}`);
  else if (doc.error) {
    const row = errorTable().get(doc.error.Error);
    lines.push(
      `  left behind:  ${row?.leftBehind ?? 'not in the error table (docs/reference/errors.md); read the history (iam-key-rotator history).'}`,
    );
  }
  return lines.join('\n');
}
