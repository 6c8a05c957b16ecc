import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { AccountSummary, FleetSummary } from '../functions/summarizeFleet.js';

/** The rows the per-user table shows: every user the fleet listed, with what became of it. */
export interface FleetRow {
  /** Set when the fleet spans several accounts. */
  accountId?: string;
  userName: string;
  /** `notListed`: the account's users could not be listed (userName is empty). */
  outcome: 'rotated' | 'planned' | 'failed' | 'alreadyStarted' | 'skipped' | 'notListed';
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
  /** Accounts whose users could not be listed. */
  accountsNotListed = 0;
  summary: FleetSummary | undefined;

  add(event: HistoryEvent): void {
    const state = exited(event);
    if (!state) return;
    const output = state.output as Record<string, unknown> | undefined;
    switch (state.name) {
      case 'ListCandidates':
        this.due = Array.isArray(output?.due) ? output.due.length : 0;
        this.skipped =
          typeof output?.skippedTotal === 'number'
            ? output.skippedTotal
            : Array.isArray(output?.skipped)
              ? output.skipped.length
              : 0;
        this.accountsNotListed = Array.isArray(output?.failedAccounts) ? output.failedAccounts.length : 0;
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
    }${this.accountsNotListed ? ` · accounts not listed ${this.accountsNotListed}` : ''}`;
  }
}

/** Every listed user of one account (or of the whole fleet) and its outcome. */
function outcomeRows(part: Omit<AccountSummary, 'accountId'>, accountId?: string): FleetRow[] {
  const at = accountId === undefined ? {} : { accountId };
  return [
    ...part.rotated.map((userName) => ({ ...at, userName, outcome: 'rotated' as const, detail: '' })),
    ...part.planned.map((userName) => ({ ...at, userName, outcome: 'planned' as const, detail: '' })),
    ...part.failed.map((f) => ({ ...at, userName: f.userName, outcome: 'failed' as const, detail: f.error })),
    ...part.alreadyStarted.map((userName) => ({
      ...at,
      userName,
      outcome: 'alreadyStarted' as const,
      detail: '',
    })),
    ...part.skipped.map((s) => ({
      ...at,
      userName: s.userName,
      outcome: 'skipped' as const,
      detail: s.reason,
    })),
  ];
}

/** The summary's accounts when the fleet spans several; undefined over one account (or for a summary from before accounts). */
function severalAccounts(summary: FleetSummary): AccountSummary[] | undefined {
  const accounts = summary.accounts ?? [];
  return accounts.length > 1 ? accounts : undefined;
}

/** Every listed user and its outcome, from the fleet's summary; by account when it spans several. */
export function fleetRows(summary: FleetSummary): FleetRow[] {
  const accounts = severalAccounts(summary);
  if (!accounts) return outcomeRows(summary).sort((a, b) => a.userName.localeCompare(b.userName));
  return accounts.flatMap((account) =>
    account.error === undefined
      ? outcomeRows(account, account.accountId).sort((a, b) => a.userName.localeCompare(b.userName))
      : [
          {
            accountId: account.accountId,
            userName: '',
            outcome: 'notListed' as const,
            detail: account.error,
          },
        ],
  );
}

const countsLine = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The per-user table printed when the fleet ends: with an ACCOUNT column and a line per account when it spans several. */
export function fleetTable(summary: FleetSummary): string {
  const rows = fleetRows(summary);
  const accounts = severalAccounts(summary);
  const width = Math.max(4, ...rows.map((r) => r.userName.length));
  const account = (id: string) => (accounts ? `${id.padEnd(12)}  ` : '');
  const perAccount = (accounts ?? []).map(
    (a) =>
      `${a.accountId}: ${a.error === undefined ? countsLine(a.counts) : `not listed (${a.error}), none of its users started`}`,
  );
  return [
    `${account('ACCOUNT')}${'USER'.padEnd(width)}  ${'OUTCOME'.padEnd(14)}  DETAIL`,
    ...rows.map(
      (r) => `${account(r.accountId ?? '')}${r.userName.padEnd(width)}  ${r.outcome.padEnd(14)}  ${r.detail}`,
    ),
    '',
    ...perAccount,
    `${summary.dryRun ? 'dry run: ' : ''}${accounts ? 'all accounts: ' : ''}${countsLine(summary.counts)}`,
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
