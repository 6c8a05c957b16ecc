import { AccessDeniedError, AwsCallError } from './aws-call.js';
import { runHistory } from './history.js';
import { runLocal } from './local.js';
import { runRotate } from './rotate.js';
import { runRotateFleet } from './rotate-fleet.js';
import { StateMachineNotFoundError } from './sfn.js';
import { runStack } from './stack.js';
import { runStatus } from './status.js';
import { runStop } from './stop.js';

const USAGE = `usage: iam-key-rotator <command> [options]

commands:
  rotate    start a rotation of a user's key (Step Functions StartExecution), --wait to follow it
  rotate-fleet
            rotate every opted-in user whose key is older than the policy (the fleet machine)
  status    the rotated users' keys, ages, last executions and what needs attention
  history   the states of an execution (a user's latest), with errors and retries
  stop      stop a running execution
  local     run one full rotation on the local stack (npm start)
  stack     serve the local AWS, Step Functions and Vault emulators until interrupted
  bench     measure rotation speed and memory on the local stack

Run 'iam-key-rotator <command> --help' for the options of a command.`;

const [command, ...args] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<number>> = {
  rotate: runRotate,
  'rotate-fleet': runRotateFleet,
  status: runStatus,
  history: runHistory,
  stop: runStop,
  local: runLocal,
  stack: runStack,
  bench: async (rest) =>
    rest.some((arg) => arg === '--fleet' || arg.startsWith('--fleet='))
      ? (await import('../bench/fleet.js')).runFleetBench(rest)
      : (await import('../bench/rotation.js')).runBench(rest),
};

/** A failed AWS call exits 3; bad usage or input, 2. */
const exitCodeOf = (error: unknown): number =>
  error instanceof AccessDeniedError ||
  error instanceof AwsCallError ||
  error instanceof StateMachineNotFoundError
    ? 3
    : 2;

const run = command ? commands[command] : undefined;
if (!run) {
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = command === '--help' || command === '-h' ? 0 : 2;
} else {
  try {
    process.exitCode = await run(args);
  } catch (error) {
    process.stderr.write(
      `iam-key-rotator ${command}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = exitCodeOf(error);
  }
}
