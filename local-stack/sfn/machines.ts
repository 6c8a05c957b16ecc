import type { Json } from '../lambda.js';
import { stateMachineDoesNotExist } from './errors.js';
import type { TaskResource } from './history.js';
import type { HistoryEvent as LibraryEvent } from '../state-machine.js';
import { checkName, parseStateMachineArn, stateMachineArn, type Scope } from './names.js';

/** What a machine's runner gets for one execution. */
export interface MachineRun {
  executionArn: string;
  name: string;
  input: Json;
  /** Aborted by StopExecution. */
  signal: AbortSignal;
  /** Each event of the local runner's event log, in order. */
  onEvent(event: LibraryEvent): void;
  /** Called by a Task's handler wrapper as the function is invoked; the result is called with its output. */
  invoke(state: string, input: unknown): (output?: unknown) => void;
}

/** A state machine the endpoint serves: its description and how to run an execution of it. */
export interface MachineSpec {
  name: string;
  /** The definition DescribeStateMachine returns (ASL JSON). */
  definition: string;
  roleArn: string;
  tasks: Record<string, TaskResource>;
  /** The machine's tags (ListTagsForResource), read at each call. */
  tags?: () => Record<string, string>;
  /** Runs one execution to its end; the outcome is read from the events it reported. */
  run(run: MachineRun): Promise<void>;
}

export interface RegisteredMachine extends MachineSpec {
  arn: string;
  creationDate: Date;
}

/**
 * The machine a Distributed Map's child workflows run: `<machine>/<label>`, with a state machine
 * ARN of that name, but not registered (ListStateMachines does not show it, StartExecution does
 * not start it), as in AWS.
 */
export function childWorkflowMachine(scope: Scope, spec: MachineSpec): RegisteredMachine {
  return { ...spec, arn: stateMachineArn(scope, spec.name), creationDate: new Date() };
}

/** The state machines of one account and region, by name. */
export class MachineRegistry {
  private readonly machines = new Map<string, RegisteredMachine>();

  constructor(private readonly scope: Scope) {}

  /** Registers (or replaces) a machine and returns its ARN. */
  register(spec: MachineSpec): string {
    const arn = stateMachineArn(this.scope, checkName(spec.name));
    this.machines.set(spec.name, { ...spec, arn, creationDate: new Date() });
    return arn;
  }

  /** The machine of an ARN, or InvalidArn / StateMachineDoesNotExist. */
  get(arn: string): RegisteredMachine {
    const machine = this.machines.get(parseStateMachineArn(arn));
    if (!machine || machine.arn !== arn) throw stateMachineDoesNotExist(arn);
    return machine;
  }

  byName(name: string): RegisteredMachine | undefined {
    return this.machines.get(name);
  }

  list(): RegisteredMachine[] {
    return [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
