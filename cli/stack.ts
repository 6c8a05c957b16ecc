import { parseArgs } from 'node:util';
import { captureConsole } from '../local-stack/logs.js';
import { localTarget, seedUser } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import { startLocalStack } from '../local-stack/stack.js';

const HELP = `usage: iam-key-rotator stack [--aws-port N] [--vault-port N] [--propagation-ms N] [--demo-user NAME] [--wait-scale X]

Serves the AWS (IAM, STS, KMS, Secrets Manager, SSM, Step Functions) and Vault emulators on 127.0.0.1
until SIGINT or SIGTERM, with the rotator provisioned, its state machine registered and a demo user
whose key is in Vault. Prints one JSON line when ready: awsEndpoint, region, accessKeyId,
secretAccessKey, vaultAddr, vaultToken, stepFunctionsEndpoint, stateMachineArn, demoUser.
The handlers' log lines go to stderr. Port 0 (the default) picks a free port.

  --demo-user NAME     the user to seed (default demo): iam-key-rotator rotate demo --wait ...
  --wait-scale X       a Wait of N seconds from the input lasts X*N seconds (default 0.01); Waits the
                       input does not set last 200 ms`;

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
      'demo-user': { type: 'string', default: 'demo' },
      'wait-scale': { type: 'string', default: '0.01' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const waitScale = Number(values['wait-scale']);
  if (!(waitScale >= 0)) throw new Error('--wait-scale must be a number >= 0');
  const stack = await startLocalStack({
    awsPort: port(values['aws-port'], '--aws-port'),
    vaultPort: port(values['vault-port'], '--vault-port'),
    propagationMs: Number(values['propagation-ms'] ?? '0'),
    stepFunctions: { waitScale },
  });
  // stdout carries the one JSON line; the handlers' logs go to stderr.
  const capture = captureConsole((line) => process.stderr.write(`${line}\n`));
  try {
    const target = localTarget(stack);
    await prepareTarget(target);
    await seedUser(target, values['demo-user']);
    process.stdout.write(
      `${JSON.stringify({
        awsEndpoint: stack.aws.endpoint,
        region: stack.aws.region,
        accessKeyId: stack.aws.adminCredentials.accessKeyId,
        secretAccessKey: stack.aws.adminCredentials.secretAccessKey,
        vaultAddr: stack.vault.addr,
        vaultToken: stack.vault.rootToken,
        stepFunctionsEndpoint: stack.aws.endpoint,
        stateMachineArn: stack.stateMachineArn,
        demoUser: values['demo-user'],
      })}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    capture.restore();
    await stack.close();
  }
  return 0;
}
