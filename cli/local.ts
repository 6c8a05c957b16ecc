import { parseArgs } from 'node:util';
import { localTarget, type Target, type VaultAuthMethod } from '../local-stack/provision.js';
import { startLocalStack } from '../local-stack/stack.js';
import { parseFaultSpec } from '../local-stack/traffic.js';
import { rotateThroughApi } from './local-rotation.js';
import { summary } from './progress.js';

const HELP = `usage: iam-key-rotator local [options]      (npm start -- [options])

Runs one full rotation of a demo user on the local stack: the real ASL file, the real handlers,
AWS (IAM, STS, KMS, Secrets Manager) and Vault emulated on 127.0.0.1. Progress goes to stderr,
the summary to stdout.

options:
  --user NAME             the IAM user to create and rotate (default: demo-ci-<random>)
  --json                  print one JSON document on stdout instead of the summary
  --propagation-ms N      how long IAM refuses a new key (default 1500)
  --fault SPEC            inject a fault, repeatable: <service>:<operation>:<fault>[xN][@n]
  --kv-version 1|2        the KV engine version of the Vault mount (default 2)
  --vault-auth METHOD     aws (default), approle or token
  --vault-namespace NS    run in this Vault Enterprise namespace
  --vault-addr URL        use this Vault instead of the emulator (with --vault-token)
  --vault-token TOKEN     a token that may manage policies, auth roles and mounts on that Vault
  --aws-endpoint URL      use this AWS-compatible endpoint (credentials from AWS_ACCESS_KEY_ID/...)
  --verbose               also print the handlers' log lines on stderr

exit code: 0 when the execution SUCCEEDED, 1 when it FAILED, 2 on bad usage.`;

const AUTH_METHODS: readonly VaultAuthMethod[] = ['aws', 'approle', 'token'];

/** `iam-key-rotator local`: the project's main job. */
export async function runLocal(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      json: { type: 'boolean', default: false },
      'propagation-ms': { type: 'string', default: '1500' },
      fault: { type: 'string', multiple: true, default: [] },
      'kv-version': { type: 'string', default: '2' },
      'vault-auth': { type: 'string' },
      'vault-namespace': { type: 'string' },
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
  if (values['kv-version'] !== '1' && values['kv-version'] !== '2')
    throw new Error('--kv-version must be 1 or 2');
  const external = Boolean(values['vault-addr'] || values['aws-endpoint']);
  // A real Vault cannot reach the emulated STS (nor real AWS this one), so aws auth needs both local.
  const vaultAuth = (values['vault-auth'] ?? (external ? 'token' : 'aws')) as VaultAuthMethod;
  if (!AUTH_METHODS.includes(vaultAuth)) throw new Error('--vault-auth must be aws, approle or token');
  if (values['vault-addr'] && !values['vault-token']) throw new Error('--vault-addr needs --vault-token');
  const userName = values.user ?? `demo-ci-${Math.random().toString(36).slice(2, 8)}`;

  const stack = await startLocalStack({ propagationMs });
  try {
    const local = localTarget(stack, {
      vaultAuth,
      kvVersion: values['kv-version'] === '1' ? 1 : 2,
      ...(values['vault-namespace'] ? { namespace: values['vault-namespace'] } : {}),
    });
    const target: Target = {
      ...local,
      ...(values['aws-endpoint'] ? { aws: externalAws(values['aws-endpoint']) } : {}),
      ...(values['vault-addr']
        ? { vault: { addr: values['vault-addr'], token: values['vault-token'] ?? '' } }
        : {}),
    };
    const err = (line: string) => process.stderr.write(`${line}\n`);
    err(
      `iam-key-rotator: rotating ${userName} (AWS ${target.aws.endpoint ?? 'default'}, Vault ${target.vault.addr}` +
        `${target.namespace ? ` namespace ${target.namespace}` : ''}, KV v${target.kvVersion}, ${vaultAuth} auth)`,
    );
    // The same path as `iam-key-rotator rotate <user> --wait`, against the stack's Step Functions endpoint.
    const document = await rotateThroughApi({
      target,
      stack,
      userName,
      faults: values.fault,
      err,
      ...(values.verbose ? { onLog: err } : {}),
    });
    process.stdout.write(
      values.json
        ? `${JSON.stringify(document, null, 2)}\n`
        : `${summary(document, `${target.kvMount}/${target.pathPrefix}${userName}`)}\n`,
    );
    return document.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await stack.close();
  }
}

function externalAws(endpoint: string): Target['aws'] {
  const env = process.env;
  return {
    endpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
    },
  };
}
