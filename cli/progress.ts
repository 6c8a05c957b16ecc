import { redactDeep } from '../functions/commons/redact.js';
import type { HistoryEvent as HistoryEvent } from '@aws-sdk/client-sfn';
import type { Observed } from '../local-stack/provision.js';
import { errorTable } from './error-table.js';

const time = (event: HistoryEvent): number => event.timestamp?.getTime() ?? 0;
const STATE_ENTERED = /^(\w+)StateEntered$/;
const STATE_EXITED = /^(\w+)StateExited$/;

/**
 * The progress view, fed by Step Functions history events (live or recorded, from AWS or the local
 * endpoint): one line per state with its duration, retries, failures and catches.
 */
export class Progress {
  private state = '';
  private enteredAt = 0;
  private attempts = 0;
  private lastAttemptFailed = false;

  constructor(private readonly write: (line: string) => void) {}

  add(event: HistoryEvent): void {
    const type = event.type ?? '';
    const name = this.state;
    if (STATE_ENTERED.test(type)) {
      this.state = event.stateEnteredEventDetails?.name ?? '';
      this.enteredAt = time(event);
      this.attempts = 0;
      this.lastAttemptFailed = false;
      if (type === 'FailStateEntered') this.write(`  ✗ ${this.state}`);
      return;
    }
    if (STATE_EXITED.test(type)) {
      const retries = Math.max(0, this.attempts - 1);
      if (this.lastAttemptFailed) this.write(`  ↳ ${name}: caught`);
      else
        this.write(
          `  ✓ ${name.padEnd(28)} ${this.elapsed(event)}${retries > 0 ? `  (${retries} ${retries === 1 ? 'retry' : 'retries'})` : ''}`,
        );
      return;
    }
    switch (type) {
      case 'LambdaFunctionScheduled':
        this.attempts += 1;
        this.lastAttemptFailed = false;
        if (this.attempts > 1) this.write(`  ↻ ${name}: retry ${this.attempts - 1}`);
        break;
      case 'LambdaFunctionFailed':
      case 'LambdaFunctionTimedOut': {
        const details = event.lambdaFunctionFailedEventDetails ?? event.lambdaFunctionTimedOutEventDetails;
        this.lastAttemptFailed = true;
        this.write(`  ✗ ${name.padEnd(28)} ${this.elapsed(event)}  ${details?.error ?? ''}`);
        break;
      }
      case 'ExecutionFailed':
        this.write(`  ✗ execution failed: ${event.executionFailedEventDetails?.error ?? ''}`);
        break;
      case 'ExecutionAborted':
        this.write(`  ■ execution stopped${name ? ` in ${name}` : ''}`);
        break;
      case 'ExecutionTimedOut':
        this.write('  ✗ execution timed out');
        break;
    }
  }

  private elapsed(event: HistoryEvent): string {
    return `${String(time(event) - this.enteredAt).padStart(6)} ms`;
  }
}

/** The names of the states an execution entered, in order. */
export function statesOf(history: HistoryEvent[]): string[] {
  return history.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
}

/** The human summary: old key → new key, Vault path and version, what happened to the old key. */
export function summary(
  report: {
    status: string;
    user: string;
    durationMs: number;
    before: Observed;
    after: Observed;
    error: { Error: string; Cause: string } | null;
  },
  vaultPath: string,
): string {
  const oldKey = report.before.vault?.accessKeyId ?? '(none)';
  const newKey = report.after.vault?.accessKeyId ?? '(none)';
  const oldNow = report.after.accessKeys.find((k) => k.accessKeyId === oldKey);
  const fate = oldNow ? `still exists (${oldNow.status})` : 'deleted';
  const lines = [
    '',
    `${report.status === 'SUCCEEDED' ? 'Rotated' : 'Rotation FAILED for'} ${report.user} in ${report.durationMs} ms`,
    `  key in Vault: ${oldKey} → ${newKey}`,
    `  Vault path:   ${vaultPath} (version ${report.before.vault?.version ?? 0} → ${report.after.vault?.version ?? 0})`,
    `  old key:      ${oldKey} ${fate}`,
    `  IAM keys now: ${report.after.accessKeys.map((k) => `${k.accessKeyId} (${k.status})`).join(', ') || '(none)'}`,
  ];
  if (report.error) {
    lines.push(
      `  error:        ${report.error.Error}`,
      `  cause:        ${String(redactDeep(report.error.Cause, 'cause'))}`,
    );
    const row = errorTable().get(report.error.Error);
    if (row) lines.push(`  left behind:  ${row.leftBehind}`);
  }
  return lines.join('\n');
}
