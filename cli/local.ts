import { parseArgs } from 'node:util';
import { LOCAL_RETRY_PAUSES, type RotationReport, runLocalRotation } from '../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../local-stack/stack.js';
import type { Target } from '../local-stack/provision.js';
import { parseFaultSpec } from '../local-stack/traffic.js';
import { printProgress, summary } from './progress.js';

const HELP = `usage: iam-key-rotator local [options]      (npm start -- [options])

Runs one full rotation of a demo user on the local stack: the real ASL file, the real handlers,
AWS (IAM, STS, KMS) and Vault emulated on 127.0.0.1. Progress goes to stderr, the summary to stdout.

options:
  --user NAME             the IAM user to create and rotate (default: demo-ci-<random>)
  --json                  print one JSON document on stdout instead of the summary
  --propagation-ms N      how long IAM refuses a new key (default 1500)
  --fault SPEC            inject a fault, repeatable: <iam|sts|kms|vault>:<operation>:<fault>[xN][@n]
  --vault-addr URL        use this Vault instead of the emulator (with --vault-token; token auth)
  --vault-token TOKEN     a token that may write policies and secret/ on that Vault
  --aws-endpoint URL      use this AWS-compatible endpoint (credentials from AWS_ACCESS_KEY_ID/...)
  --verbose               also print the handlers' log lines on stderr

exit code: 0 when the execution SUCCEEDED, 1 when it FAILED, 2 on bad usage.`;

/** `iam-key-rotator local`: the project's main job. */
export async function runLocal(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      json: { type: 'boolean', default: false },
      'propagation-ms': { type: 'string', default: '1500' },
      fault: { type: 'string', multiple: true, default: [] },
      'vault-addr': { type: 'string' },
      'vault-token': { type: 'string' },
      'aws-endpoint': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const propagationMs = Number(values['propagation-ms']);
  if (!Number.isInteger(propagationMs) || propagationMs < 0) throw new Error('--propagation-ms must be >= 0');
  for (const spec of values.fault) parseFaultSpec(spec);
  if (values['vault-addr'] && !values['vault-token']) throw new Error('--vault-addr needs --vault-token');
  const userName = values.user ?? `demo-ci-${Math.random().toString(36).slice(2, 8)}`;

  const stack: LocalStack = await startLocalStack({ propagationMs });
  try {
    const target = targetFor(stack, values['aws-endpoint'], values['vault-addr'], values['vault-token']);
    const err = (line: string) => process.stderr.write(`${line}\n`);
    err(
      `iam-key-rotator: rotating ${userName} (AWS ${target.aws.endpoint ?? 'default'}, Vault ${target.vault.addr})`,
    );
    const report = await runLocalRotation({
      target,
      stack,
      userName,
      faults: values.fault,
      onEvent: (event) => printProgress(event, err),
      ...(values.verbose ? { onLog: err } : {}),
      retryPauseMs: LOCAL_RETRY_PAUSES,
    });
    const document: RotationReport = {
      status: report.status,
      error: report.error,
      user: report.user,
      states: report.states,
      history: report.history,
      before: report.before,
      after: report.after,
      calls: report.calls,
      durationMs: report.durationMs,
    };
    process.stdout.write(
      values.json
        ? `${JSON.stringify(document, null, 2)}\n`
        : `${summary(document, `${target.kvMount}/${target.pathPrefix}${userName}`)}\n`,
    );
    return report.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await stack.close();
  }
}

function targetFor(stack: LocalStack, awsEndpoint?: string, vaultAddr?: string, vaultToken?: string): Target {
  const externalAws = awsEndpoint !== undefined;
  const env = process.env;
  return {
    aws: {
      endpoint: awsEndpoint ?? stack.aws.endpoint,
      region: externalAws ? (env.AWS_REGION ?? 'us-east-1') : stack.aws.region,
      credentials: externalAws
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' }
        : stack.aws.adminCredentials,
    },
    vault:
      vaultAddr && vaultToken
        ? { addr: vaultAddr, token: vaultToken }
        : { addr: stack.vault.addr, token: stack.vault.rootToken },
    // A real Vault cannot reach the emulated STS, so it gets token auth.
    vaultAuth: vaultAddr || externalAws ? 'token' : 'aws',
    kvMount: 'secret',
    pathPrefix: 'aws/iam-users/',
  };
}
