import { describe, expect, it } from 'vitest';
import { buildFleetInput } from '../../cli/rotate-fleet.js';
import type { FleetSummary } from '../../functions/commons/fleet-summary.js';
import { runCliInProcess } from '../support/cli-in-process.js';

describe('npm start -- --fleet N --accounts K: options that cannot apply are refused before any stack starts', () => {
  it.each([
    [['--accounts', '3'], '--accounts: only with --fleet'],
    [
      ['--max-due-per-account', '5', '--max-concurrency', '2'],
      '--max-concurrency, --max-due-per-account: only with --fleet',
    ],
    [
      ['--fleet', '5', '--accounts', '3', '--account', '222222222222'],
      '--account and --accounts exclude each other',
    ],
    [['--accounts', '3', '--account', '222222222222'], '--account and --accounts exclude each other'],
    [['--fleet', '5', '--account', '222222222222'], '--fleet does not go with --account'],
    [['--fleet', '5', '--user', 'bob', '--input', '{}'], '--fleet does not go with --user, --input'],
    [['--fleet', '5', '--aws-endpoint', 'http://127.0.0.1:9'], '--fleet does not go with --aws-endpoint'],
    [['--fleet', '20001'], '--fleet must be a whole number from 1 to 20,000'],
    [['--fleet', '0'], '--fleet must be a whole number from 1 to 20,000'],
    [['--fleet', '5', '--accounts', '101'], '--accounts must be a whole number from 1 to 100'],
    [['--fleet', '5', '--max-concurrency', '41'], '--max-concurrency must be a whole number from 1 to 40'],
    [
      ['--fleet', '5', '--max-due-per-account', '10001'],
      '--max-due-per-account must be a whole number from 1 to 10,000',
    ],
  ])('local %j: exit 2 naming them', async (args, message) => {
    const refused = await runCliInProcess(['local', ...args]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(message);
    expect(refused.stdout).toBe('');
  });
});

describe('rotate-fleet --max-due-per-account', () => {
  it('sets the fleet input, checked with its bounds', () => {
    expect(buildFleetInput({ 'max-due-per-account': '250' })).toEqual({ maxDuePerAccount: 250 });
    expect(() => buildFleetInput({ 'max-due-per-account': '0' })).toThrow(
      'bad fleet input: maxDuePerAccount',
    );
  });
});

interface FleetDocument {
  status: string;
  mapRun: { mapRunArn: string; itemCounts: Record<string, number> } | null;
  summary: FleetSummary;
}

describe('npm start -- --json --fleet 12 --accounts 3', () => {
  it('spreads the users over three accounts, lists all three, rotates the due ones through the Map Run and defers the rest', async () => {
    const { code, stdout, stderr } = await runCliInProcess(
      [
        'local',
        '--json',
        '--fleet',
        '12',
        '--accounts',
        '3',
        '--max-due-per-account',
        '1',
        '--propagation-ms',
        '0',
      ],
      { freshModules: true },
    );
    expect(code).toBe(0);
    const { status, mapRun, summary } = JSON.parse(stdout) as FleetDocument;
    expect(status).toBe('SUCCEEDED');
    // Each account holds 4 demo users: 2 due (1 rotated, 1 deferred beyond maxDuePerAccount 1), 2 skipped.
    expect(summary.accountCounts).toEqual({ listed: 3, failed: 0 });
    expect(
      summary.accounts.map((a) => [a.accountId, a.counts.rotated, a.counts.deferred, a.counts.skipped]),
    ).toEqual([
      ['123456789012', 1, 1, 2],
      ['210000000001', 1, 1, 2],
      ['210000000002', 1, 1, 2],
    ]);
    expect(summary.counts.rotated + summary.counts.skipped + summary.counts.deferred).toBe(12);
    expect(mapRun?.mapRunArn).toMatch(/:mapRun:iam-key-rotator-fleet-local\/RotateDueUsers:/);
    // DescribeMapRun's itemCounts as answered.
    expect(mapRun?.itemCounts).toMatchObject({
      total: 3,
      succeeded: 3,
      failed: 0,
      running: 0,
      pending: 0,
      timedOut: 0,
      aborted: 0,
      resultsWritten: 3,
    });
    // The live line: the listing from the parent's history (the due count from WriteManifest), then
    // the child workflows from DescribeMapRun. (The skipped and deferred counts come from each
    // listCandidates output, whose LambdaFunctionSucceeded events the local history can pair with the
    // wrong iteration when parallel listings end out of order: the unit tests check those counts.)
    expect(stderr).toContain('12 demo users seeded under the rotated path over 3 accounts');
    expect(stderr).toMatch(/^listed: accounts listed 3\/3 · due 3 · /m);
    expect(stderr).toMatch(
      /^\[#{30}\] 3\/3 child workflows: succeeded 3 · failed 0 · running 0 · pending 0 \| accounts listed 3\/3 · due 3 · /m,
    );
  }, 60_000);
});

describe('npm start -- --fleet N --fault SPEC', () => {
  it('arms the fault for the fleet: the third CreateAccessKey refused fails exactly that user, the others rotated', async () => {
    const { code, stdout } = await runCliInProcess(
      [
        'local',
        '--json',
        '--fleet',
        '20',
        '--fault',
        'iam:CreateAccessKey:AccessDenied@3',
        '--propagation-ms',
        '0',
      ],
      { freshModules: true },
    );
    const { status, summary } = JSON.parse(stdout) as FleetDocument;
    expect(code).toBe(1);
    expect(status).toBe('FAILED');
    expect(summary.failed).toEqual([
      { userName: expect.stringMatching(/^demo-fleet-/), error: 'AwsRequestError' },
    ]);
    expect(summary.counts.failed).toBe(1);
    expect(summary.counts.rotated + summary.counts.failed + summary.counts.skipped).toBe(20);
  }, 60_000);

  it('says a fault that never fired did not apply (the retirement steps run after the fleet), and exits 2', async () => {
    const fault = 'iam:UpdateAccessKey:InternalFailure';
    const { code, stderr } = await runCliInProcess(
      ['local', '--json', '--fleet', '3', '--fault', fault, '--propagation-ms', '0'],
      { freshModules: true },
    );
    expect(stderr).toContain(`--fault ${fault} never fired`);
    expect(code).toBe(2);
  }, 60_000);
});
