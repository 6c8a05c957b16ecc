import { MapRunRegistry } from './distributed-map/map-runs.js';
import type { S3Port } from './distributed-map/s3-port.js';
import { ExecutionRegistry } from './executions.js';
import { MachineRegistry } from './machines.js';
import type { Scope } from './names.js';
import { TaskTokens } from './task-tokens.js';

/** The Step Functions service of one emulated account and region. */
export class StepFunctions {
  readonly machines: MachineRegistry;
  readonly executions: ExecutionRegistry;
  readonly taskTokens = new TaskTokens();
  readonly mapRuns = new MapRunRegistry();
  /** Where Distributed Maps read items and write results, as the state machine's role: the AWS emulator's own S3 (aws/index.ts). */
  s3?: S3Port;

  constructor(readonly scope: Scope) {
    this.machines = new MachineRegistry(scope);
    this.executions = new ExecutionRegistry(scope);
  }
}
