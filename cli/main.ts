import { runLocal } from './local.js';
import { runStack } from './stack.js';

const USAGE = `usage: iam-key-rotator <command> [options]

commands:
  local   run one full rotation on the local stack (npm start)
  stack   serve the local AWS and Vault emulators until interrupted
  bench   measure rotation speed and memory on the local stack

Run 'iam-key-rotator <command> --help' for the options of a command.`;

const [command, ...args] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<number>> = {
  local: runLocal,
  stack: runStack,
  bench: async (rest) => (await import('../bench/rotation.js')).runBench(rest),
};

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
    process.exitCode = 2;
  }
}
