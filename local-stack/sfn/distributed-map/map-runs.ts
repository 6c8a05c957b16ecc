import type { ExecutionStatus, MapRunStatus } from '@aws-sdk/client-sfn';
import { resourceNotFound } from '../errors.js';
import { parseMapRunArn } from '../names.js';

/** DescribeMapRun's itemCounts and executionCounts (one item per child workflow: no batching). */
export interface MapRunCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
  failuresNotRedrivable: number;
  pendingRedrive: number;
}

const zeroCounts = (): MapRunCounts => ({
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  aborted: 0,
  total: 0,
  resultsWritten: 0,
  failuresNotRedrivable: 0,
  pendingRedrive: 0,
});

/** One Map Run: the child workflows a Distributed Map state started in one attempt, and their settings. */
export class MapRun {
  status: MapRunStatus = 'RUNNING';
  readonly startDate = new Date();
  stopDate?: Date;
  maxConcurrency = 0;
  toleratedFailurePercentage = 0;
  toleratedFailureCount = 0;
  readonly items = zeroCounts();
  readonly executions = zeroCounts();
  /** The child executions' ARNs in start order (ListExecutions with mapRunArn). */
  readonly children: string[] = [];

  constructor(
    readonly arn: string,
    /** The parent execution. */
    readonly executionArn: string,
    /** The child workflows' state machine, `<machine>/<label>`. */
    readonly stateMachineArn: string,
  ) {}

  /** Items known, none started yet. */
  setTotal(total: number): void {
    this.items.total = total;
    this.items.pending = total;
  }

  started(childArn: string): void {
    this.children.push(childArn);
    this.items.pending -= 1;
    this.items.running += 1;
    this.executions.total += 1;
    this.executions.running += 1;
  }

  /** A child ended with this status. */
  settled(status: ExecutionStatus): void {
    const field = (
      { SUCCEEDED: 'succeeded', FAILED: 'failed', TIMED_OUT: 'timedOut', ABORTED: 'aborted' } as const
    )[status as 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED'];
    if (field === undefined) return;
    for (const counts of [this.items, this.executions]) {
      counts.running -= 1;
      counts[field] += 1;
    }
  }

  resultsWritten(count: number): void {
    this.items.resultsWritten = count;
    this.executions.resultsWritten = count;
  }

  end(status: Exclude<MapRunStatus, 'RUNNING'>): void {
    if (this.status !== 'RUNNING') return;
    this.status = status;
    this.stopDate = new Date();
  }
}

/** Every Map Run of one account and region, by ARN and by parent execution. */
export class MapRunRegistry {
  private readonly runs = new Map<string, MapRun>();
  private readonly byExecution = new Map<string, MapRun[]>();

  add(run: MapRun): void {
    this.runs.set(run.arn, run);
    const siblings = this.byExecution.get(run.executionArn) ?? [];
    siblings.push(run);
    this.byExecution.set(run.executionArn, siblings);
  }

  /** The Map Run of an ARN, or InvalidArn / ResourceNotFound. */
  get(arn: string): MapRun {
    parseMapRunArn(arn);
    const run = this.runs.get(arn);
    if (!run) throw resourceNotFound(arn);
    return run;
  }

  /** The execution's Map Runs, newest first. */
  of(executionArn: string): MapRun[] {
    return [...(this.byExecution.get(executionArn) ?? [])].reverse();
  }
}
