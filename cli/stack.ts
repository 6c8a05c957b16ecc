import { parseArgs } from 'node:util';
import { captureConsole } from '../local-stack/logs.js';
import { localTarget, seedUser } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import { startLocalStack } from '../local-stack/stack.js';
import { parseFaultSpec } from '../local-stack/traffic.js';

const HELP = `usage: iam-key-rotator stack [--aws-port N] [--vault-port N] [--propagation-ms N] [--demo-user NAME] [--wait-scale X] [--fault SPEC ...]

Serves the AWS (IAM, STS, KMS, Secrets Manager, SSM, Step Functions) and Vault emulators on 127.0.0.1
until SIGINT or SIGTERM, with the rotator provisioned, its state machine registered and a demo user
whose key is in Vault. Prints one JSON line when ready: awsEndpoint, region, accessKeyId,
secretAccessKey, vaultAddr, vaultToken, stepFunctionsEndpoint, stateMachineArn, demoUser.
The handlers' log lines go to stderr. Port 0 (the default) picks a free port.

  --demo-user NAME     the user to seed (default demo): iam-key-rotator rotate demo --wait ...
  --wait-scale X       a Wait of N seconds from the input lasts X*N seconds (default 0.01); Waits the
                       input does not set last 200 ms
  --propagation-ms N   how long IAM refuses a new key (default 0)
  --fault SPEC         a fault armed once the demo user is seeded, repeatable:
                       <iam|sts|kms|secretsmanager|ssm|sfn|s3|vault>:<operation>:<fault>[xN][@n], fault an
                       HTTP status, an AWS error code, timeout, reset or after-commit; a bad spec exits 2
                       before anything starts. e.g. --fault iam:CreateAccessKey:AccessDenied@3

faults on the running stack (AWS and Vault share them; either admin endpoint):
  add:    curl -X POST <awsEndpoint>/__admin/faults -d '{"spec":"vault:kv-write:503x2"}'
          (or {"specs":[...]}: every spec is checked before any is armed)
  list:   curl <awsEndpoint>/__admin/faults
  clear:  curl -X DELETE <awsEndpoint>/__admin/faults`;

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
      fault: { type: 'string', multiple: true, default: [] },
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
  const propagationMs = Number(values['propagation-ms'] ?? '0');
  if (!Number.isInteger(propagationMs) || propagationMs < 0)
    throw new Error(
      `--propagation-ms must be a whole number of milliseconds, not '${values['propagation-ms']}'`,
    );
  // Every spec checked before the stack starts: a fault that cannot be armed is refused, not dropped.
  const faults = values.fault.map(parseFaultSpec);
  const stack = await startLocalStack({
    awsPort: port(values['aws-port'], '--aws-port'),
    vaultPort: port(values['vault-port'], '--vault-port'),
    propagationMs,
    stepFunctions: { waitScale },
  });
  // stdout carries the one JSON line; the handlers' logs go to stderr.
  const capture = captureConsole((line) => process.stderr.write(`${line}\n`));
  try {
    const target = localTarget(stack);
    await prepareTarget(target);
    await seedUser(target, values['demo-user']);
    for (const fault of faults) stack.traffic.addFault(fault);
    if (faults.length > 0)
      process.stderr.write(
        `iam-key-rotator stack: armed ${values.fault.join(', ')}; clear them: curl -X DELETE ${stack.aws.endpoint}/__admin/faults\n`,
      );
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
