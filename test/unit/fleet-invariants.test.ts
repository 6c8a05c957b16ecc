import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { type RotationRun, type UserEnd, userViolations } from '../../bench/fleet-invariants.js';

const OLD = 'AKIAOLDOLDOLDOLDOLD1';
const NEW = 'AKIANEWNEWNEWNEWNEW1';
const SECRET = 'x'.repeat(40);

const state = (type: string, name: string, output?: unknown): HistoryEvent =>
  (type.endsWith('Entered')
    ? { type, stateEnteredEventDetails: { name } }
    : { type, stateExitedEventDetails: { name, output: JSON.stringify(output ?? {}) } }) as HistoryEvent;

/** A rotation's states in order: created the new key, verified it, retired the old one. */
const ROTATED: HistoryEvent[] = [
  state('TaskStateEntered', 'CreateKey'),
  state('TaskStateExited', 'CreateKey', { created: { accessKeyId: NEW } }),
  state('TaskStateEntered', 'VerifyKey'),
  state('TaskStateExited', 'VerifyKey'),
  state('TaskStateEntered', 'DeactivateOld'),
  state('TaskStateEntered', 'DeleteOld'),
];

const user = (end: Partial<UserEnd>): UserEnd => ({
  userName: 'alice',
  accountId: '123456789012',
  oldAccessKeyId: OLD,
  keys: [{ accessKeyId: OLD, status: 'Active' }],
  served: { accessKeyId: OLD, secretAccessKey: SECRET },
  rotations: [],
  ...end,
});
const run = (r: Partial<RotationRun>): RotationRun => ({ status: 'SUCCEEDED', history: ROTATED, ...r });
const rotated = {
  keys: [{ accessKeyId: NEW, status: 'Active' }],
  served: { accessKeyId: NEW, secretAccessKey: SECRET },
};

describe("the bench's per-user invariants", () => {
  it('holds for a user the fleet did not start, and for one rotated as promised', () => {
    expect(userViolations(user({}))).toEqual([]);
    expect(userViolations(user({ ...rotated, rotations: [run({})] }))).toEqual([]);
  });

  it('a user not started whose keys or Vault changed', () => {
    expect(userViolations(user({ keys: [{ accessKeyId: OLD, status: 'Inactive' }] }))).toEqual([
      'not rotated, yet its keys changed',
    ]);
    expect(userViolations(user({ served: { accessKeyId: NEW, secretAccessKey: SECRET } }))).toEqual([
      'not rotated, yet Vault serves another key',
    ]);
  });

  it('a second rotation of the same user (a retried item started another child)', () => {
    expect(userViolations(user({ ...rotated, rotations: [run({}), run({})] }))).toEqual([
      '2 rotations started',
    ]);
  });

  it('SUCCEEDED with the old key left, or Vault serving another key', () => {
    const both = [
      { accessKeyId: OLD, status: 'Inactive' },
      { accessKeyId: NEW, status: 'Active' },
    ];
    expect(userViolations(user({ ...rotated, keys: both, rotations: [run({})] }))).toEqual([
      'SUCCEEDED without exactly one Active key',
      'SUCCEEDED, but Vault serves another key',
    ]);
  });

  it('FAILED: a key that is neither the old one nor Vaults is orphaned, unless the failure keeps it on purpose', () => {
    const both = [
      { accessKeyId: OLD, status: 'Active' },
      { accessKeyId: NEW, status: 'Active' },
    ];
    const failed = run({ status: 'FAILED', error: 'VerificationFailed', history: ROTATED.slice(0, 3) });
    expect(userViolations(user({ keys: both, rotations: [failed] }))).toEqual([
      `FAILED: orphaned keys ${NEW}`,
    ]);
    expect(userViolations(user({ keys: both, rotations: [{ ...failed, error: 'RollbackFailed' }] }))).toEqual(
      [],
    );
  });

  it('an old key retired before the new one was verified', () => {
    const early = [ROTATED[0], ROTATED[1], ROTATED[4], ROTATED[2], ROTATED[3]] as HistoryEvent[];
    expect(userViolations(user({ ...rotated, rotations: [run({ history: early })] }))).toEqual([
      'DeactivateOld ran before VerifyKey succeeded',
    ]);
  });

  it('the secret access key Vault serves, found in the history', () => {
    const leaked = [...ROTATED, state('TaskStateExited', 'StoreInVault', { secret: SECRET })];
    expect(userViolations(user({ ...rotated, rotations: [run({ history: leaked })] }))).toEqual([
      'the secret access key Vault serves is in its history',
    ]);
  });
});
