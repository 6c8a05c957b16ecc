import { ExecutionRegistry } from './executions.js';
import { MachineRegistry } from './machines.js';
import type { Scope } from './names.js';
import { TaskTokens } from './task-tokens.js';

/** The Step Functions service of one emulated account and region. */
export class StepFunctions {
  readonly machines: MachineRegistry;
  readonly executions: ExecutionRegistry;
  readonly taskTokens = new TaskTokens();

  constructor(readonly scope: Scope) {
    this.machines = new MachineRegistry(scope);
    this.executions = new ExecutionRegistry(scope);
  }
}
