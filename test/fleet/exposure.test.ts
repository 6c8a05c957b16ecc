// What a fleet run leaves for people to read (its own history and output, every object of its run
// in the fleet's bucket, the Distributed Map's result files, the functions' logs and metric lines)
// holds none of the task tokens its children carried, no sealed secret and no secret access key:
// one child rotated, one failed after it started. The tokens stay in the children's own input
// and in the Map's child workflows' Task events (docs/security.md, "Still open").
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureConsole } from '../../local-stack/logs.js';
import { localTarget, readVaultKey, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { accountUser, settled, TAG_KEY } from './support.js';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;
let s3: S3Client;

beforeAll(async () => {
  stack = await startLocalStack({ stepFunctions: { waitMs: 0, retryPauseMs: 0 } });
  process.env.VAULT_PATH_TEMPLATE = '{prefix}{accountId}/{userName}';
  process.env.ROTATOR_ACCOUNT_ID = stack.aws.accountId;
  target = localTarget(stack);
  await prepareTarget(target);
  const admin = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  sfn = new SFNClient(admin);
  s3 = new S3Client({ ...admin, forcePathStyle: true });
});

afterAll(async () => {
  await stack.close();
});

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
    events.push(...(out.events ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return events;
}

/** A state's output, parsed, as the history recorded its last exit. */
const exitOutput = (events: HistoryEvent[], state: string): Record<string, unknown> | undefined => {
  const exited = events.findLast((e) => e.stateExitedEventDetails?.name === state);
  return exited?.stateExitedEventDetails?.output
    ? (JSON.parse(exited.stateExitedEventDetails.output) as Record<string, unknown>)
    : undefined;
};

describe('what a fleet run leaves for people to read', () => {
  it('holds no task token, sealed secret or secret access key: its history and output, its objects in the bucket (the Map’s results included), the logs', async () => {
    const home = stack.aws.accountId;
    const users = [
      await accountUser({ stack, target }, home, 'exposed-a', { tag: 'exposure', ageDays: 120 }),
      await accountUser({ stack, target }, home, 'exposed-b', { tag: 'exposure', ageDays: 121 }),
    ];
    // The second child's CreateKey is refused: a child that failed after the fleet started it.
    stack.traffic.addFault('iam:CreateAccessKey:AccessDenied@2');
    const logs = captureConsole();
    const executionArn = await (async () => {
      try {
        const started = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: stack.fleetStateMachineArn,
            name: 'exposure-run',
            input: JSON.stringify({ tagKey: TAG_KEY, tagValue: 'exposure' }),
          }),
        );
        const run = await settled(sfn, started.executionArn ?? '');
        expect(run.status).toBe('FAILED');
        expect(run.error).toBe('FleetRotationIncomplete');
        return run.executionArn ?? '';
      } finally {
        logs.restore();
        stack.traffic.clearFaults();
      }
    })();

    // What the children carried: their tokens (their input) and sealed secrets (CreateKey's output).
    const children =
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }))).executions ??
      [];
    const tokens: string[] = [];
    const sealed: string[] = [];
    for (const child of children) {
      const events = await history(child.executionArn ?? '');
      const started = events.find((e) => e.type === 'ExecutionStarted');
      const input = JSON.parse(started?.executionStartedEventDetails?.input ?? '{}') as {
        fleetTaskToken?: string;
      };
      if (input.fleetTaskToken) tokens.push(input.fleetTaskToken);
      const created = exitOutput(events, 'CreateKey')?.created as { sealedSecret?: unknown } | undefined;
      if (created?.sealedSecret) sealed.push(JSON.stringify(created.sealedSecret));
    }
    expect(tokens).toHaveLength(2);
    expect(sealed).toHaveLength(1);
    const secrets = (await Promise.all(users.map((u) => readVaultKey(target, u.vaultPath)))).flatMap((key) =>
      key ? [key.secretAccessKey] : [],
    );
    expect(secrets).toHaveLength(2);

    const texts: Record<string, string> = {
      'the fleet’s history': JSON.stringify(await history(executionArn)),
      logs: logs.lines.join('\n'),
    };
    const listing = await fetch(
      `${stack.aws.endpoint}/__admin/s3/buckets/${stack.fleetBucket.bucket}/objects`,
    );
    const { objects } = (await listing.json()) as { objects: { key: string }[] };
    const keys = objects.map((o) => o.key).filter((key) => key.startsWith('runs/exposure-run/'));
    expect(keys).toEqual(expect.arrayContaining(['runs/exposure-run/summary.json']));
    expect(keys.some((key) => /\/results\/.+\/SUCCEEDED_0\.json$/.test(key))).toBe(true);
    for (const key of keys) {
      const out = await s3.send(new GetObjectCommand({ Bucket: stack.fleetBucket.bucket, Key: key }));
      texts[key] = (await out.Body?.transformToString()) ?? '';
    }
    // A value may sit in a JSON string inside JSON (the result files' Input and Output): escaped.
    const escaped = (value: string) => [value, JSON.stringify(value).slice(1, -1)];
    for (const [where, text] of Object.entries(texts)) {
      expect(text, where).not.toContain('fleetTaskToken');
      expect(text, where).not.toContain('sealedSecret');
      for (const token of tokens)
        for (const form of escaped(token)) expect(text.includes(form), where).toBe(false);
      for (const seal of sealed) expect(text.includes(seal), where).toBe(false);
      for (const secret of secrets) expect(text.includes(secret), where).toBe(false);
    }
  }, 60_000);
});
