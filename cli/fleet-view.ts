import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { FleetSummary } from '../functions/summarizeFleet.js';

/** The rows the per-user table shows: every user the fleet listed, with what became of it. */
export interface FleetRow {
  userName: string;
  outcome: 'rotated' | 'planned' | 'failed' | 'alreadyStarted' | 'skipped';
  /** The error name of a failure, or the reason a user was skipped. */
  detail: string;
}

const parse = (text: string | undefined): unknown => {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
};

/** The output of a state as the history records it (the state's name and its JSON output). */
function exited(event: HistoryEvent): { name: string; output: unknown } | undefined {
  const details = event.stateExitedEventDetails;
  return details?.name ? { name: details.name, output: parse(details.output) } : undefined;
}

/**
 * The fleet's progress from its history events (live or recorded): how many users are due, and
 * how many have signalled, failed or were already started; the skipped ones from ListCandidates.
 */
export class FleetProgress {
  due = 0;
  skipped = 0;
  rotated = 0;
  failed = 0;
  alreadyStarted = 0;
  summary: FleetSummary | undefined;

  add(event: HistoryEvent): void {
    const state = exited(event);
    if (!state) return;
    const output = state.output as Record<string, unknown> | undefined;
    switch (state.name) {
      case 'ListCandidates':
        this.due = Array.isArray(output?.due) ? output.due.length : 0;
        this.skipped = Array.isArray(output?.skipped) ? output.skipped.length : 0;
        break;
      case 'UserSignalled':
        this.rotated += 1;
        break;
      case 'UserFailed':
        this.failed += 1;
        break;
      case 'AlreadyStarted':
        this.alreadyStarted += 1;
        break;
      case 'Summarize':
        this.summary = output as FleetSummary | undefined;
        break;
    }
  }

  /** One line: a bar of the due users done, and the counts. */
  line(width = 30): string {
    const done = this.rotated + this.failed + this.alreadyStarted;
    const filled = this.due === 0 ? width : Math.round((done / this.due) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    return `[${bar}] ${done}/${this.due}  rotated ${this.rotated} · failed ${this.failed} · skipped ${this.skipped}${
      this.alreadyStarted ? ` · already started ${this.alreadyStarted}` : ''
    }`;
  }
}

/** Every listed user and its outcome, from the fleet's summary. */
export function fleetRows(summary: FleetSummary): FleetRow[] {
  const rows: FleetRow[] = [
    ...summary.rotated.map((userName) => ({ userName, outcome: 'rotated' as const, detail: '' })),
    ...summary.planned.map((userName) => ({ userName, outcome: 'planned' as const, detail: '' })),
    ...summary.failed.map((f) => ({ userName: f.userName, outcome: 'failed' as const, detail: f.error })),
    ...summary.alreadyStarted.map((userName) => ({
      userName,
      outcome: 'alreadyStarted' as const,
      detail: '',
    })),
    ...summary.skipped.map((s) => ({ userName: s.userName, outcome: 'skipped' as const, detail: s.reason })),
  ];
  return rows.sort((a, b) => a.userName.localeCompare(b.userName));
}

/** The per-user table printed when the fleet ends. */
export function fleetTable(summary: FleetSummary): string {
  const rows = fleetRows(summary);
  const width = Math.max(4, ...rows.map((r) => r.userName.length));
  const counts = Object.entries(summary.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `${'USER'.padEnd(width)}  ${'OUTCOME'.padEnd(14)}  DETAIL`,
    ...rows.map((r) => `${r.userName.padEnd(width)}  ${r.outcome.padEnd(14)}  ${r.detail}`),
    '',
    `${summary.dryRun ? 'dry run: ' : ''}${counts}`,
  ].join('\n');
}

/**
 * Writes the progress line in place on a terminal (one live line); elsewhere only when the counts
 * change, one line each.
 */
export function liveLine(stream: NodeJS.WriteStream): { update(line: string): void; end(): void } {
  let last = '';
  return {
    update(line) {
      if (line === last) return;
      last = line;
      stream.write(stream.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    end() {
      if (stream.isTTY && last) stream.write('\n');
    },
  };
}
