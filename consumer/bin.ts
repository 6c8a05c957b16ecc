// The packed package's `iam-key-rotator` command: the consumer's part of the CLI only.
import { runCredentials } from './credentials-command.js';
import { CREDENTIALS_USAGE } from './flags.js';

const [command, ...args] = process.argv.slice(2);
if (command === 'credentials') {
  process.exitCode = await runCredentials(args);
} else {
  process.stderr.write(
    `${CREDENTIALS_USAGE}\n\nThis package holds the consumers' command only; operators run the full CLI from the repository.\n`,
  );
  process.exitCode = command === '--help' || command === '-h' ? 0 : 1;
}
