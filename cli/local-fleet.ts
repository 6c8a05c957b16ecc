import { IAMClient, ListAccessKeysCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DEFAULT_TAG_KEY, DEFAULT_TAG_VALUE } from '../functions/commons/fleet-input.js';
import { captureConsole } from '../local-stack/logs.js';
import { seedUser, type Target } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import type { LocalStack } from '../local-stack/stack.js';
import { followFleet } from './rotate-fleet.js';
import { startExecution } from './rotate.js';

const DAY_MS = 86_400_000;

/** What the i-th demo user is: most are due; some young, some not opted in, one with two keys. */
function demoKind(i: number): { tagged: boolean; ageDays: number; keys: number } {
  if (i === 2) return { tagged: true, ageDays: 200, keys: 2 };
  if (i % 7 === 3) return { tagged: false, ageDays: 200, keys: 1 };
  if (i % 5 === 1) return { tagged: true, ageDays: 10, keys: 1 };
  return { tagged: true, ageDays: 100 + i, keys: 1 };
}

/**
 * `npm start -- --fleet N`: provisions the target, seeds N demo users under the rotated path (their
 * keys backdated through the emulator's admin API) and runs the fleet machine through the stack's
 * Step Functions endpoint, as `iam-key-rotator rotate-fleet --wait` does against a deployment.
 */
export async function runLocalFleet(options: {
  stack: LocalStack;
  target: Target;
  count: number;
  json: boolean;
  onLog?: (line: string) => void;
  err: (line: string) => void;
}): Promise<number> {
  const { stack, target, count } = options;
  await prepareTarget(target);
  const client = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  const iam = new IAMClient(client);
  const run = Math.random().toString(36).slice(2, 6);
  for (let i = 0; i < count; i++) {
    const kind = demoKind(i);
    const userName = `demo-fleet-${run}-${String(i).padStart(3, '0')}`;
    await seedUser(target, userName, { keys: kind.keys });
    if (kind.tagged) {
      await iam.send(
        new TagUserCommand({
          UserName: userName,
          Tags: [{ Key: DEFAULT_TAG_KEY, Value: DEFAULT_TAG_VALUE }],
        }),
      );
    }
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    for (const key of keys) {
      const response = await fetch(
        `${stack.aws.endpoint}/__admin/access-keys/${key.AccessKeyId}/create-date`,
        {
          method: 'POST',
          body: JSON.stringify({ createDate: new Date(Date.now() - kind.ageDays * DAY_MS).toISOString() }),
        },
      );
      if (!response.ok) throw new Error(`backdating ${key.AccessKeyId} failed: HTTP ${response.status}`);
    }
  }
  options.err(
    `iam-key-rotator: ${count} demo users seeded under the rotated path; running the fleet machine`,
  );
  const sfn = new SFNClient(client);
  const capture = captureConsole(options.onLog);
  try {
    const started = await startExecution(sfn, stack.fleetStateMachineArn, {}, `demo-fleet-${run}`);
    const code = await followFleet(sfn, started.executionArn ?? '', { pollMs: 100, json: options.json });
    return code ?? 130;
  } finally {
    capture.restore();
  }
}
