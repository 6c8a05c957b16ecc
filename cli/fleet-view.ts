import type { DescribeMapRunOutput, HistoryEvent, MapRunItemCounts } from '@aws-sdk/client-sfn';
import type { AccountSummary, FleetSummary } from '../functions/commons/fleet-summary.js';

const parse = (text: string | undefined): unknown => {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;

/** What listCandidates returned for one account (its Lambda output: the state keeps only the due count). */
interface AccountListed {
  due: number;
  deferred: number;
  skipped: number;
  /** Users whose listing failed: none of them was started. */
  failedUsers: number;
}

/** listCandidates' counts, recognised by their shape: the only Lambda output of the fleet with these fields. */
function accountListed(output: unknown): ({ accountId: string } & AccountListed) | undefined {
  if (!isRecord(output) || typeof output.accountId !== 'string') return undefined;
  const [due, deferred, skipped, failedUsers] = [
    count(output.due),
    count(output.deferred),
    count(output.skipped),
    count(output.failedUsers),
  ];
  if (due === undefined || deferred === undefined || skipped === undefined || failedUsers === undefined)
    return undefined;
  return { accountId: output.accountId, due, deferred, skipped, failedUsers };
}

/** DescribeMapRun's itemCounts that the live line shows. */
export interface MapRunItems {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  /** Timed out and aborted child workflows. */
  other: number;
}

/**
 * The fleet's progress, from its parent's history (the listing: PlanFleet, each account's
 * listCandidates, WriteManifest; the Map Run's ARN; the summary) and from DescribeMapRun (the
 * child workflows, which the parent's history does not hold).
 */
export class FleetProgress {
  /** Accounts the run lists (PlanFleet). */
  accounts: number | undefined;
  readonly listed = new Map<string, Partial<AccountListed>>();
  /** Accounts whose listing failed, with the error name. */
  readonly notListed = new Map<string, string>();
  /** Due users handed to the Distributed Map (WriteManifest). */
  due: number | undefined;
  mapRunArn: string | undefined;
  /** Set once the history shows the Map Run ended: one more DescribeMapRun gives the final counts. */
  mapRunEnded = false;
  items: MapRunItems | undefined;
  /** DescribeMapRun's itemCounts as answered (`--json`). */
  itemCounts: MapRunItemCounts | undefined;
  summary: FleetSummary | undefined;

  add(event: HistoryEvent): void {
    if (event.type === 'MapRunStarted') {
      this.mapRunArn = event.mapRunStartedEventDetails?.mapRunArn ?? this.mapRunArn;
      this.mapRunEnded = false;
      this.items = undefined;
      this.itemCounts = undefined;
      return;
    }
    if (event.type === 'MapRunSucceeded' || event.type === 'MapRunFailed' || event.type === 'MapRunAborted') {
      this.mapRunEnded = true;
      return;
    }
    if (event.type === 'LambdaFunctionSucceeded') {
      const listed = accountListed(parse(event.lambdaFunctionSucceededEventDetails?.output));
      if (listed) {
        const { accountId, ...counts } = listed;
        this.listed.set(accountId, counts);
        this.notListed.delete(accountId);
      }
      return;
    }
    const details = event.stateExitedEventDetails;
    if (!details?.name) return;
    const output = parse(details.output);
    if (!isRecord(output)) return;
    switch (details.name) {
      case 'PlanFleet':
        if (Array.isArray(output.accounts)) this.accounts = output.accounts.length;
        break;
      case 'ListCandidates': {
        // The state keeps the due count only; the Lambda's own output (above) has the others.
        const due = count(output.due);
        // A caught failure exits with its error at $.error; AccountNotListed names the account.
        if (
          typeof output.accountId === 'string' &&
          !('error' in output) &&
          !this.listed.has(output.accountId)
        )
          this.listed.set(output.accountId, due === undefined ? {} : { due });
        break;
      }
      case 'AccountNotListed':
        if (typeof output.accountId === 'string' && typeof output.error === 'string') {
          this.notListed.set(output.accountId, output.error);
          this.listed.delete(output.accountId);
        }
        break;
      case 'WriteManifest':
        if (isRecord(output.manifest)) this.due = count(output.manifest.due);
        break;
      case 'Summarize':
        this.summary = output as unknown as FleetSummary;
        break;
    }
  }

  /** The Map Run as DescribeMapRun answered; another Map Run's answer (an earlier attempt) is ignored. */
  mapRun(described: Pick<DescribeMapRunOutput, 'mapRunArn' | 'itemCounts'>): void {
    const c = described.itemCounts;
    if (!c || described.mapRunArn !== this.mapRunArn) return;
    this.itemCounts = c;
    this.items = {
      total: c.total ?? 0,
      pending: c.pending ?? 0,
      running: c.running ?? 0,
      succeeded: c.succeeded ?? 0,
      failed: c.failed ?? 0,
      other: (c.timedOut ?? 0) + (c.aborted ?? 0),
    };
  }

  private sum(field: keyof AccountListed): number {
    let total = 0;
    for (const counts of this.listed.values()) total += counts[field] ?? 0;
    return total;
  }

  /** The listing: accounts listed of those asked for, and what they hold. */
  private listingText(): string {
    const seen = this.listed.size + this.notListed.size;
    const parts = [
      `accounts listed ${this.listed.size}/${this.accounts ?? (seen || '?')}${this.notListed.size ? ` (${this.notListed.size} not listed)` : ''}`,
      `due ${this.due ?? this.sum('due')}`,
      `skipped ${this.sum('skipped')}`,
      `deferred ${this.sum('deferred')}`,
    ];
    const notStarted = this.sum('failedUsers');
    if (notStarted) parts.push(`failed while listed ${notStarted}`);
    return parts.join(' · ');
  }

  /**
   * One line: while the accounts are listed, the listing; once the Map Run runs, a bar of its child
   * workflows done and DescribeMapRun's counts, then the listing.
   */
  line(width = 30): string {
    const items = this.items;
    if (!items) {
      const stage =
        this.mapRunArn !== undefined
          ? 'Map Run started'
          : this.due !== undefined
            ? 'listed'
            : this.accounts === undefined
              ? 'planning'
              : 'listing';
      return `${stage}: ${this.listingText()}`;
    }
    const done = items.succeeded + items.failed + items.other;
    const filled = items.total === 0 ? width : Math.round((done / items.total) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const other = items.other ? ` · timed out or aborted ${items.other}` : '';
    return (
      `[${bar}] ${done}/${items.total} child workflows: succeeded ${items.succeeded} · failed ${items.failed}${other}` +
      ` · running ${items.running} · pending ${items.pending} | ${this.listingText()}`
    );
  }
}

type Counts = FleetSummary['counts'];

/** The count columns of the grouped summary; `alreadyStarted` only when some were. */
function columnsOf(summary: FleetSummary): { head: string; key: keyof Counts }[] {
  return [
    summary.dryRun
      ? { head: 'PLANNED', key: 'planned' as const }
      : { head: 'ROTATED', key: 'rotated' as const },
    { head: 'FAILED', key: 'failed' as const },
    { head: 'SKIPPED', key: 'skipped' as const },
    { head: 'DEFERRED', key: 'deferred' as const },
    ...(summary.counts.alreadyStarted > 0
      ? [{ head: 'ALREADY STARTED', key: 'alreadyStarted' as const }]
      : []),
  ];
}

/** Users named per outcome other than failed (every failed user the output names is shown). */
const SHOWN_NAMES = 10;

/** Names as the output holds them (at most `shown`), and how many more the full summary has. */
function namesLine(label: string, names: string[], total: number, shown = SHOWN_NAMES): string[] {
  if (total === 0) return [];
  const listed = names.slice(0, shown);
  const more = total - listed.length;
  return [
    `  ${label.padEnd(10)}${listed.join(', ')}${more > 0 ? `${listed.length ? ' ' : ''}(+${more} more)` : ''}`,
  ];
}

/** The users an account's part names, by outcome; the counts say how many the full summary has. */
function accountNames(part: FleetSummary | AccountSummary): string[] {
  return [
    ...namesLine(
      'failed',
      part.failed.map((f) => `${f.userName} (${f.error})`),
      part.counts.failed,
      Infinity,
    ),
    ...namesLine('rotated', part.rotated, part.counts.rotated),
    ...namesLine('planned', part.planned, part.counts.planned),
    ...namesLine('started', part.alreadyStarted, part.counts.alreadyStarted),
    ...namesLine(
      'skipped',
      part.skipped.map((s) => `${s.userName} (${s.reason})`),
      part.counts.skipped,
    ),
    ...namesLine('deferred', part.deferred, part.counts.deferred),
  ];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The summary grouped by account, printed when the fleet ends: a row of counts per account the
 * output names (those with a failure first), the users it names under each, the totals with the
 * deferred count, and where the whole summary is. Over one account the names come from the
 * fleet's own lists, which name more.
 */
export function fleetSummaryText(summary: FleetSummary): string {
  const columns = columnsOf(summary);
  const accountWidth = 12;
  const widths = columns.map((c) => Math.max(c.head.length, 7));
  const row = (first: string, cells: string[]) =>
    [first.padEnd(accountWidth), ...cells.map((cell, i) => cell.padStart(widths[i] ?? 0))].join('  ');
  const one =
    summary.accounts.length === 1 && summary.accountCounts.listed + summary.accountCounts.failed === 1;
  const lines = [
    row(
      'ACCOUNT',
      columns.map((c) => c.head),
    ),
  ];
  for (const account of summary.accounts) {
    if (account.error !== undefined) {
      lines.push(
        `${account.accountId.padEnd(accountWidth)}  not listed: ${account.error} (none of its users was started)`,
      );
      continue;
    }
    lines.push(
      row(
        account.accountId,
        columns.map((c) => String(account.counts[c.key])),
      ),
    );
    lines.push(...accountNames(one ? summary : account));
  }
  const inRun = summary.accountCounts.listed + summary.accountCounts.failed;
  const unnamed = inRun - summary.accounts.length;
  if (unnamed > 0) lines.push(`(${plural(unnamed, 'more account')} without failures: in the full summary)`);
  const totals = columns.map((c) => `${c.head.toLowerCase()} ${summary.counts[c.key]}`).join(' · ');
  const failedAccounts = summary.accountCounts.failed ? `, ${summary.accountCounts.failed} not listed` : '';
  lines.push(
    '',
    `${summary.dryRun ? 'dry run, ' : ''}${plural(inRun, 'account')} (${summary.accountCounts.listed} listed${failedAccounts}): ${totals}`,
  );
  if (summary.counts.deferred > 0) {
    lines.push(
      `deferred: due beyond the account's maxDuePerAccount (the oldest keys went first); the next run takes them`,
    );
  }
  lines.push(`full summary: s3://${summary.bucket}/${summary.summaryKey}`);
  return lines.join('\n');
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
