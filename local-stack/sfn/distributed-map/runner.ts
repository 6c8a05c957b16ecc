import { randomUUID } from 'node:crypto';
import type { Json } from '../../lambda.js';
import type { Execution } from '../executions.js';
import type { RegisteredMachine } from '../machines.js';
import { mapRunArn } from '../names.js';
import type { StepFunctions } from '../service.js';
import type { DistributedMapSpec } from './definition.js';
import { ExceedToleratedFailureThreshold, StatesRuntime } from './errors.js';
import type { MapItem } from './item-selector.js';
import { readItems, type ReadItem } from './item-reader.js';
import { MapRun } from './map-runs.js';
import { writeResults } from './result-writer.js';

/** Step Functions runs at most this many child workflows of a Map Run at once (MaxConcurrency 0: as many). */
export const MAX_CHILD_CONCURRENCY = 10_000;

/** Why the Map Run stopped its children: the parent execution was stopped. */
class MapRunAborted extends Error {
  constructor() {
    super('the parent execution was stopped');
    this.name = 'States.Aborted';
  }
}

export interface MapRunOptions {
  sfn: StepFunctions;
  spec: DistributedMapSpec;
  /** The ItemProcessor's machine, `<machine>/<label>`. */
  child: RegisteredMachine;
  executionArn: string;
  /** The state machine's role: the S3 reader and writer act as it. */
  roleArn: string;
  /** The parent execution's: aborting it aborts the Map Run and its running children. */
  signal: AbortSignal;
  /** Called once the Map Run exists, for the parent's MapStateStarted and MapRunStarted. */
  started(mapRunArn: string, length: number): void;
}

/** The Map state's inputs, resolved by the local runner from the Map Run Task's Parameters. */
interface Resolved {
  items?: Json;
  reader?: Json;
  maxItems?: Json;
  maxConcurrency?: Json;
  toleratedFailurePercentage?: Json;
  toleratedFailureCount?: Json;
  writer?: Json;
  selector?: Json;
}

function number(value: Json | undefined, field: string, check: (n: number) => boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !check(value)) {
    throw new StatesRuntime(`${field} resolved to ${JSON.stringify(value)}, which is not a valid ${field}`);
  }
  return value;
}

/** Stops the running children and resolves once each has ended, so counts and results are final. */
async function stopAll(sfn: StepFunctions, running: Map<string, Execution>, cause: string): Promise<void> {
  const children = [...running.values()];
  for (const child of children) sfn.executions.stop(child.arn, 'States.Aborted', cause);
  await Promise.all(children.map((child) => child.settled));
}

/**
 * Runs one Map Run: reads the items, starts a child execution of the ItemProcessor for each (at
 * most MaxConcurrency at once), fails with States.ExceedToleratedFailureThreshold as soon as more
 * children failed than tolerated (stopping the others), writes the results when a ResultWriter is
 * set, and returns the Map state's result.
 */
export async function runMapRun(options: MapRunOptions, parameters: Json): Promise<Json> {
  const { sfn, spec, child: machine, signal } = options;
  const resolved = (parameters ?? {}) as Resolved;
  const maxConcurrency = number(
    resolved.maxConcurrency,
    'MaxConcurrency',
    (n) => Number.isInteger(n) && n >= 0,
  );
  const percentage = number(
    resolved.toleratedFailurePercentage,
    'ToleratedFailurePercentage',
    (n) => n >= 0 && n <= 100,
  );
  const count = number(
    resolved.toleratedFailureCount,
    'ToleratedFailureCount',
    (n) => Number.isInteger(n) && n >= 0,
  );
  if (!spec.reader && !Array.isArray(resolved.items)) {
    throw new StatesRuntime('Input of a Map state must be an array, or its ItemsPath must select an array');
  }
  const run = new MapRun(mapRunArn(sfn.scope, machine.name, randomUUID()), options.executionArn, machine.arn);
  run.maxConcurrency = maxConcurrency ?? 0;
  run.toleratedFailurePercentage = percentage ?? 0;
  run.toleratedFailureCount = count ?? 0;
  sfn.mapRuns.add(run);
  options.started(run.arn, Array.isArray(resolved.items) ? resolved.items.length : 0);
  try {
    const items: (ReadItem | undefined)[] = spec.reader
      ? await readItems(spec.reader, resolved.reader, resolved.maxItems, sfn.s3, options.roleArn)
      : (resolved.items as Json[]).map((value) => ({ value, source: 'STATE_DATA' }));
    if (signal.aborted) throw new MapRunAborted();
    run.setTotal(items.length);
    const exceeded = (failures: number): boolean =>
      failures > 0 &&
      ((count === undefined && percentage === undefined) ||
        (count !== undefined && failures > count) ||
        (percentage !== undefined && (failures * 100) / items.length > percentage));
    const outputs = spec.writes ? undefined : new Array<Json>(items.length).fill(null);
    const running = new Map<string, Execution>();
    const limit =
      maxConcurrency === undefined || maxConcurrency === 0
        ? MAX_CHILD_CONCURRENCY
        : Math.min(maxConcurrency, MAX_CHILD_CONCURRENCY);
    const outcome = await new Promise<Error | undefined>((resolve) => {
      let next = 0;
      let failures = 0;
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        resolve(error);
      };
      const onAbort = () => finish(new MapRunAborted());
      const settle = (index: number, child: Execution) => {
        running.delete(child.arn);
        run.settled(child.status);
        if (child.status === 'SUCCEEDED') {
          if (outputs) outputs[index] = JSON.parse(child.output ?? 'null') as Json;
        } else failures += 1;
        if (done) return;
        if (exceeded(failures)) finish(new ExceedToleratedFailureThreshold());
        else launch();
      };
      const launch = () => {
        while (!done && running.size < limit && next < items.length) {
          const index = next;
          next += 1;
          const item = items[index];
          // Each item is held only until its child has it.
          items[index] = undefined;
          const value = item?.value ?? null;
          const mapItem: MapItem = { Index: index, Value: value, Source: item?.source ?? 'STATE_DATA' };
          let child: Execution;
          try {
            const input = spec.selector ? spec.selector.select(resolved.selector ?? null, mapItem) : value;
            child = sfn.executions.start(machine, randomUUID(), JSON.stringify(input), {
              mapRunArn: run.arn,
            });
          } catch (error) {
            finish(error instanceof StatesRuntime ? error : new StatesRuntime((error as Error).message));
            return;
          }
          run.started(child.arn);
          running.set(child.arn, child);
          void child.settled.then(() => settle(index, child));
        }
        if (running.size === 0 && next >= items.length) finish();
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      launch();
    });
    if (outcome) {
      await stopAll(sfn, running, outcome instanceof MapRunAborted ? outcome.message : 'the Map Run failed');
    }
    if (outcome instanceof MapRunAborted) {
      run.end('ABORTED');
      throw outcome;
    }
    if (spec.writes) {
      const children = run.children.map((arn) => sfn.executions.get(arn));
      let written: Awaited<ReturnType<typeof writeResults>>;
      try {
        written = await writeResults(sfn.s3, options.roleArn, resolved.writer, run.arn, children);
      } catch (error) {
        // A failed run stays failed for its own reason; the writer's failure is what a good run ends with.
        throw outcome ?? error;
      }
      run.resultsWritten(written.written);
      if (outcome) throw outcome;
      run.end('SUCCEEDED');
      return { MapRunArn: run.arn, ResultWriterDetails: { ...written.details } };
    }
    if (outcome) throw outcome;
    run.resultsWritten(run.items.succeeded);
    run.end('SUCCEEDED');
    return outputs ?? [];
  } catch (error) {
    run.end(signal.aborted ? 'ABORTED' : 'FAILED');
    throw error;
  }
}
