import { parseArgs } from 'node:util';
import { startLocalStack } from '../local-stack/stack.js';

const HELP = `usage: iam-key-rotator stack [--aws-port N] [--vault-port N] [--propagation-ms N]

Serves the AWS (IAM, STS, KMS) and Vault emulators on 127.0.0.1 until SIGINT or SIGTERM.
Prints one JSON line when ready: awsEndpoint, region, accessKeyId, secretAccessKey, vaultAddr, vaultToken.
Port 0 (the default) picks a free port.`;

function port(value: string | undefined, name: string): number {
  const n = Number(value ?? '0');
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new Error(`${name} must be a port number, not '${value}'`);
  return n;
}

/** `iam-key-rotator stack`: the emulators in the foreground. */
export async function runStack(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'aws-port': { type: 'string' },
      'vault-port': { type: 'string' },
      'propagation-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const stack = await startLocalStack({
    awsPort: port(values['aws-port'], '--aws-port'),
    vaultPort: port(values['vault-port'], '--vault-port'),
    propagationMs: Number(values['propagation-ms'] ?? '0'),
  });
  process.stdout.write(
    `${JSON.stringify({
      awsEndpoint: stack.aws.endpoint,
      region: stack.aws.region,
      accessKeyId: stack.aws.adminCredentials.accessKeyId,
      secretAccessKey: stack.aws.adminCredentials.secretAccessKey,
      vaultAddr: stack.vault.addr,
      vaultToken: stack.vault.rootToken,
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stack.close();
  return 0;
}
