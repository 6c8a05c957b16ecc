import type { HistoryEvent as AwsHistoryEvent } from '@aws-sdk/client-sfn';
import type { HistoryEvent } from '../local-stack/state-machine.js';
import type { RotationReport } from '../local-stack/rotation.js';

const time = (event: AwsHistoryEvent): number => event.timestamp?.getTime() ?? 0;
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

  add(event: AwsHistoryEvent): void {
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

  private elapsed(event: AwsHistoryEvent): string {
    return `${String(time(event) - this.enteredAt).padStart(6)} ms`;
  }
}

/** The names of the states an execution entered, in order. */
export function statesOf(history: AwsHistoryEvent[]): string[] {
  return history.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
}

const started = new Map<string, number>();
const retries = new Map<string, number>();
const caught = new Set<string>();

/** One line per state on stderr: name, duration, outcome and retries. */
export function printProgress(event: HistoryEvent, write: (line: string) => void): void {
  const name = event.state?.name ?? '';
  switch (event.type) {
    case 'StateEntered':
      started.set(name, event.timestamp);
      break;
    case 'StateRetried':
      retries.set(name, (retries.get(name) ?? 0) + 1);
      started.set(name, event.timestamp);
      write(`  ↻ ${name}: retry ${event.retry?.attempt ?? '?'}`);
      break;
    case 'StateFailed':
      write(`  ✗ ${name.padEnd(28)} ${ms(event, name)}  ${event.Error ?? ''}`);
      break;
    case 'StateCaught':
      caught.add(name);
      write(`  ↳ ${name}: caught`);
      break;
    case 'StateExited': {
      // A caught state also exits; its outcome was the failure printed above.
      if (caught.delete(name)) break;
      const n = retries.get(name) ?? 0;
      write(
        `  ✓ ${name.padEnd(28)} ${ms(event, name)}${n > 0 ? `  (${n} ${n === 1 ? 'retry' : 'retries'})` : ''}`,
      );
      retries.delete(name);
      break;
    }
    case 'ExecutionFailed':
      write(`  ✗ execution failed: ${event.Error ?? ''}`);
      break;
  }
}

function ms(event: HistoryEvent, name: string): string {
  return `${String(event.timestamp - (started.get(name) ?? event.timestamp)).padStart(6)} ms`;
}

/** The human summary: old key → new key, Vault path and version, what happened to the old key. */
export function summary(report: RotationReport, vaultPath: string): string {
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
  if (report.error)
    lines.push(`  error:        ${report.error.Error}`, `  cause:        ${report.error.Cause}`);
  return lines.join('\n');
}
