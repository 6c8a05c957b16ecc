import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTarget, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { runFleetCli } from '../support/fleet-cli.js';
import { backdateKey } from '../support/local-stack.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack({ stepFunctions: { waitMs: 0, retryPauseMs: 0 } });
  target = localTarget(stack);
  await prepareTarget(target);
  // What serverless.yml sets from AWS::AccountId; listCandidates names each user's account.
  process.env.ROTATOR_ACCOUNT_ID = stack.aws.accountId;
});

afterAll(async () => {
  await stack.close();
});

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runFleetCli(stack, args, extra);

describe('iam-key-rotator rotate-fleet', () => {
  it('--wait --json runs the fleet machine and prints its summary', async () => {
    const iam = new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    });
    for (const name of ['cli-fleet-a', 'cli-fleet-b']) {
      await seedUser(target, name);
      await iam.send(new TagUserCommand({ UserName: name, Tags: [{ Key: 'team', Value: 'cli' }] }));
    }
    const old = await seedUser(target, 'cli-fleet-c');
    await iam.send(new TagUserCommand({ UserName: 'cli-fleet-c', Tags: [{ Key: 'team', Value: 'cli' }] }));
    await backdateKey(stack, old.oldAccessKeyId ?? '', new Date('2020-01-01T00:00:00Z'));
    const run = await cli([
      'rotate-fleet',
      '--tag',
      'team=cli',
      '--max-key-age-days',
      '30',
      '--wait',
      '--json',
      '--poll-ms',
      '50',
    ]);
    expect(run.code).toBe(0);
    const document = JSON.parse(run.stdout) as {
      status: string;
      summary: { rotated: string[]; skipped: unknown[] };
    };
    expect(document.status).toBe('SUCCEEDED');
    expect(document.summary.rotated).toEqual(['cli-fleet-c']);
    expect(document.summary.skipped).toEqual([
      { userName: 'cli-fleet-a', reason: 'keyYoung' },
      { userName: 'cli-fleet-b', reason: 'keyYoung' },
    ]);
    // The listing from the parent's history, then the Map Run's child workflows from DescribeMapRun.
    expect(run.stderr).toContain(
      '1/1 child workflows: succeeded 1 · failed 0 · running 0 · pending 0 | accounts listed 1/1 · due 1 · skipped 2 · deferred 0',
    );
  });

  it('refuses bad input before any call (exit 2)', async () => {
    const bad = await cli(['rotate-fleet', '--max-key-age-days', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad fleet input: maxKeyAgeDays');
    const both = await cli(['rotate-fleet', '--all-users', '--tag', 'a=b']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('allUsersInPath and tagKey/tagValue exclude each other');
  });
});

describe('npm start -- --fleet N', () => {
  it('seeds N demo users and runs the fleet: a live line on stderr, the summary by account on stdout', async () => {
    const { code, stdout, stderr } = await cli(['local', '--fleet', '6', '--propagation-ms', '0'], {
      ROTATOR_ACCOUNT_ID: stack.aws.accountId,
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(/\[#+\] 3\/3 child workflows: succeeded 3 · failed 0 · running 0 · pending 0 \|/);
    expect(stdout).toMatch(/^123456789012 +3 +0 +3 +0$/m);
    expect(stdout).toMatch(/^ {2}rotated +demo-fleet-(\w+)-000, demo-fleet-\1-004, demo-fleet-\1-005$/m);
    expect(stdout).toMatch(/demo-fleet-\w+-001 \(keyYoung\)/);
    expect(stdout).toMatch(/demo-fleet-\w+-002 \(twoKeys\)/);
    expect(stdout).toMatch(/demo-fleet-\w+-003 \(notTagged\)/);
    expect(stdout).toContain('1 account (1 listed): rotated 3 · failed 0 · skipped 3 · deferred 0');
    expect(stdout).toMatch(
      /^full summary: s3:\/\/iam-key-rotator-fleet-local-123456789012\/runs\/demo-fleet-\w+\/summary\.json$/m,
    );
  });
});
