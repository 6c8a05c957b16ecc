import { AccessDeniedError, AwsCallError } from './aws-call.js';
import { StateMachineNotFoundError } from './sfn.js';

const USAGE = `usage: iam-key-rotator <command> [options]

commands:
  rotate    start a rotation of a user's key (Step Functions StartExecution), --wait to follow it
  rotate-fleet
            rotate every opted-in user whose key is older than the policy (the fleet machine)
  status    the rotated users' keys, ages, last executions and what needs attention
  history   the states of an execution (a user's latest), with errors and retries
  stop      stop a running execution
  credentials
            print the key Vault serves at a path for credential_process (consumers' AWS config)
  local     run one full rotation on the local stack (npm start)
  stack     serve the local AWS, Step Functions and Vault emulators until interrupted
  bench     measure rotation speed and memory on the local stack

Run 'iam-key-rotator <command> --help' for the options of a command.`;

type Command = (args: string[]) => Promise<number>;

// Each command loads its modules when it runs: an operator's `rotate` does not load the emulators.
const commands: Record<string, () => Promise<Command>> = {
  rotate: async () => (await import('./rotate.js')).runRotate,
  'rotate-fleet': async () => (await import('./rotate-fleet.js')).runRotateFleet,
  status: async () => (await import('./status.js')).runStatus,
  history: async () => (await import('./history.js')).runHistory,
  stop: async () => (await import('./stop.js')).runStop,
  credentials: async () => (await import('../consumer/credentials-command.js')).runCredentials,
  local: async () => (await import('./local.js')).runLocal,
  stack: async () => (await import('./stack.js')).runStack,
  bench: async () => async (rest) =>
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

/** Runs `iam-key-rotator <argv>` and returns its exit code: main.ts (bin/) and the in-process tests call it. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const load = command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!load) {
    process.stderr.write(`${USAGE}\n`);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  const run = await load();
  try {
    return await run(args);
  } catch (error) {
    process.stderr.write(
      `iam-key-rotator ${command}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return exitCodeOf(error);
  }
}
