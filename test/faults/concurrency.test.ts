import { expectInvariants, keptOnPurpose } from '../support/invariants.js';
import { describe, expect, it } from 'vitest';
import type { SeededUser } from '../../local-stack/provision.js';
import type { HistoryEvent } from '../../local-stack/state-machine.js';
import { restoreConsoleAfterEach } from '../support/console.js';
import { useLocalStack } from '../support/local-stack.js';
import { expectNamedError, expectPairInvariants, type Report } from '../support/scenarios.js';

// Two executions for the same user. rotate() captures the console per execution; two at once
// would leave it patched, so each test puts the real console back.
// A deployment that lets input ask for deleteInactiveKey (allowDeleteInactiveKey).
const ctx = useLocalStack({ env: { ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true' } });

restoreConsoleAfterEach();

/** Errors an execution may lose a race with: refused up front, or its check-and-set write lost. */
const RACE_ERRORS = ['TooManyAccessKeysError', 'ConcurrentRotationError', 'VaultWriteFailed'];

function expectOneWinner(reports: [Report, Report]) {
  const statuses = reports.map((r) => r.status).sort();
  expect(statuses, JSON.stringify(reports.map((r) => r.error))).toEqual(['FAILED', 'SUCCEEDED']);
  const loser = reports.find((r) => r.status === 'FAILED');
  expectNamedError(loser?.error ?? null);
  expect(RACE_ERRORS).toContain(loser?.error?.Error);
  expect(loser?.history.some((e) => e.Error === 'States.Runtime')).toBe(false);
}

async function together(user: SeededUser, round: number): Promise<[Report, Report]> {
  return Promise.all([
    ctx.rotate(user, { executionName: `together-a-${round}` }),
    ctx.rotate(user, { executionName: `together-b-${round}` }),
  ]);
}

describe('two executions for the same user started together', () => {
  it.each([0, 1, 2, 3, 4])('user with one key (round %i): exactly one succeeds', async (round) => {
    const user = await ctx.seed(`together-one-${round}`);
    const reports = await together(user, round);
    expectOneWinner(reports);
    await expectPairInvariants(ctx, user, reports);
    expect((await ctx.vaultKey(user))?.accessKeyId).not.toBe(user.oldAccessKeyId);
  });

  it.each([0, 1, 2, 3, 4])('user without keys (round %i): exactly one succeeds', async (round) => {
    const user = await ctx.seed(`together-none-${round}`, { keys: 0 });
    const reports = await together(user, round);
    expectOneWinner(reports);
    await expectPairInvariants(ctx, user, reports);
  });

  // Both claim the user; the later claim hides the earlier one's, so when the earlier one lost
  // its CreateAccessKey response its retry cannot tell its key from the other's and leaves it,
  // named in its ConcurrentRotationError. No consumer loses a key; an operator deletes that one.
  it('user with one key, the first CreateAccessKey response lost: no key lost, any key left is named', async () => {
    const user = await ctx.seed('together-lost');
    // The fault takes whichever CreateAccessKey comes first: that execution's key exists, its response is lost.
    const reports = await Promise.all([
      ctx.rotate(user, { executionName: 'lost-a', faults: ['iam:CreateAccessKey:after-commit'] }),
      ctx.rotate(user, { executionName: 'lost-b' }),
    ]);
    expect(reports.filter((r) => r.status === 'SUCCEEDED').length).toBeLessThanOrEqual(1);
    await expectPairInvariants(ctx, user, reports);

    const next = await ctx.rotate(user, { executionName: 'lost-next' });
    const left = reports.flatMap(keptOnPurpose);
    if (left.length === 0) {
      expect(next.status).toBe('SUCCEEDED');
    } else {
      expect(next.error?.Error).toBe('ConcurrentRotationError');
      for (const id of left) expect(next.error?.Cause).toContain(id);
    }
    await expectInvariants(ctx, user, next);
  });
});

describe('a second execution started while the first waits', () => {
  it('in its grace period (user with one key): the second is refused, the first completes', async () => {
    const user = await ctx.seed('grace-second');
    let second: Promise<Report> | undefined;
    const first = await ctx.rotate(user, {
      executionName: 'grace-first',
      waitMs: { GracePeriod: 1_500, RecoveryWindow: 0, WaitForOldKeyIdle: 0 },
      onEvent: (event: HistoryEvent) => {
        if (event.type === 'StateEntered' && event.state?.name === 'GracePeriod' && !second) {
          second = ctx.rotate(user, { executionName: 'grace-second' });
        }
      },
    });
    expect(second, 'the first execution never entered GracePeriod').toBeDefined();
    const late = (await second) as Report;

    expect(first.status).toBe('SUCCEEDED');
    expect(late.status).toBe('FAILED');
    // Refused up front: two keys already (or, within the same second, a key it cannot account for).
    expect(['TooManyAccessKeysError', 'ConcurrentRotationError']).toContain(late.error?.Error);
    expect(late.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    await expectPairInvariants(ctx, user, [first, late]);
  });

  it('in its recovery window with deleteInactiveKey (user with one key): both end, the invariants hold', async () => {
    const user = await ctx.seed('recovery-second');
    let second: Promise<Report> | undefined;
    const first = await ctx.rotate(user, {
      executionName: 'recovery-first',
      waitMs: { GracePeriod: 0, RecoveryWindow: 1_500, WaitForOldKeyIdle: 0 },
      onEvent: (event: HistoryEvent) => {
        if (event.type === 'StateEntered' && event.state?.name === 'RecoveryWindow' && !second) {
          second = ctx.rotate(user, {
            executionName: 'recovery-second',
            input: { userName: user.userName, deleteInactiveKey: true },
          });
        }
      },
    });
    expect(second).toBeDefined();
    const late = (await second) as Report;
    for (const report of [first, late]) if (report.status === 'FAILED') expectNamedError(report.error);
    await expectPairInvariants(ctx, user, [first, late], { atMostOneSucceeds: false });
  });

  it('user without keys, second started while the first stores its key: both end, the invariants hold', async () => {
    const user = await ctx.seed('store-second', { keys: 0 });
    let second: Promise<Report> | undefined;
    const first = await ctx.rotate(user, {
      executionName: 'store-first',
      onEvent: (event: HistoryEvent) => {
        if (event.type === 'StateEntered' && event.state?.name === 'StoreInVault' && !second) {
          second = ctx.rotate(user, { executionName: 'store-second' });
        }
      },
    });
    expect(second).toBeDefined();
    const late = (await second) as Report;
    expect(first.status).toBe('SUCCEEDED');
    if (late.status === 'FAILED') expectNamedError(late.error);
    await expectPairInvariants(ctx, user, [first, late], { atMostOneSucceeds: false });
  });
});
