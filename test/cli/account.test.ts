import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildInput } from '../../cli/rotate.js';

const run = promisify(execFile);
const BIN = 'bin/iam-key-rotator.mjs';
const MEMBER = '222222222222';

interface Report {
  status: string;
  error: { Error: string; Cause: string } | null;
  user: string;
  accountId: string;
  vaultPath: string;
  states: string[];
  history: { type: string; stateExitedEventDetails?: { name?: string; output?: string } }[];
  before: { accessKeys: { accessKeyId: string }[]; vault: { accessKeyId: string } | null };
  after: { accessKeys: { accessKeyId: string; status: string }[]; vault: { accessKeyId: string } | null };
  calls: Record<string, number>;
}

describe('iam-key-rotator local --account', () => {
  it('rotates the demo user in the member account through its target role, and says so', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [BIN, 'local', '--json', '--account', MEMBER, '--user', 'cli-member', '--propagation-ms', '0'],
      { timeout: 60_000 },
    );
    const report = JSON.parse(stdout) as Report;

    expect(report.status).toBe('SUCCEEDED');
    expect(report.accountId).toBe(MEMBER);
    expect(report.vaultPath).toBe(`aws/iam-users/${MEMBER}/cli-member`);
    expect(stderr).toContain(`rotating cli-member in account ${MEMBER} via arn:aws:iam::${MEMBER}:role/`);
    // before/after are read in 222 as its administrator: the new key is there, the old one gone.
    const oldKey = report.before.vault?.accessKeyId;
    expect(report.before.accessKeys.map((k) => k.accessKeyId)).toEqual([oldKey]);
    expect(report.after.accessKeys).toEqual([
      expect.objectContaining({ accessKeyId: report.after.vault?.accessKeyId, status: 'Active' }),
    ]);
    expect(report.after.vault?.accessKeyId).not.toBe(oldKey);
    // VerifyKey found the new key to be 222's user; the steps assumed the target role to act there.
    const verified = report.history.find((e) => e.stateExitedEventDetails?.name === 'VerifyKey');
    const output = JSON.parse(verified?.stateExitedEventDetails?.output ?? '{}') as {
      verified?: { arn?: string };
    };
    expect(output.verified?.arn).toBe(`arn:aws:iam::${MEMBER}:user/rotated/cli-member`);
    expect(report.calls['sts:AssumeRole']).toBeGreaterThanOrEqual(4);
  });
});

describe('iam-key-rotator rotate --account', () => {
  it('puts the account in the execution input', () => {
    expect(buildInput('alice', { account: MEMBER })).toEqual({ userName: 'alice', accountId: MEMBER });
  });

  it('refuses an account id that is not 12 digits with the input schema’s message', () => {
    expect(() => buildInput('alice', { account: '2222' })).toThrow(
      'bad execution input: accountId: must be a 12-digit AWS account id',
    );
  });
});
