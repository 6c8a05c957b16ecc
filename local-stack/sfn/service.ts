import { ExecutionRegistry } from './executions.js';
import { MachineRegistry } from './machines.js';
import type { Scope } from './names.js';

/** The Step Functions service of one emulated account and region. */
export class StepFunctions {
  readonly machines: MachineRegistry;
  readonly executions: ExecutionRegistry;

  constructor(readonly scope: Scope) {
    this.machines = new MachineRegistry(scope);
    this.executions = new ExecutionRegistry(scope);
  }
}
