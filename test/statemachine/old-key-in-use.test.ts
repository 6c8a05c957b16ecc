import { describe, expect, it } from 'vitest';
import type { SeededUser } from '../../local-stack/provision.js';
import { expectInvariants } from '../support/invariants.js';
import { type TestStack, useLocalStack } from '../support/local-stack.js';

// Any use after the new key is stored counts, a use more than a second ago does not, and waiting
// gives up three seconds after the store.
const ctx = useLocalStack({
  env: {
    ROTATOR_IN_USE_MARGIN_SECONDS: '0',
    ROTATOR_IN_USE_RECHECK_SECONDS: '1',
    ROTATOR_IN_USE_MAX_WAIT_SECONDS: '3',
    // The proceed case: a deployment that allows it.
    ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true',
  },
});

/** A consumer that still signs with the old key whenever the state machine enters `states`. */
function consumer(ctx: TestStack, user: SeededUser, oldSecret: string, states: string[]) {
  const uses: Promise<boolean>[] = [];
  return {
    onEvent: (event: { type: string; state?: { name: string } }) => {
      if (event.type === 'StateEntered' && states.includes(event.state?.name ?? '')) {
        uses.push(ctx.works({ accessKeyId: user.oldAccessKeyId ?? '', secretAccessKey: oldSecret }));
      }
    },
    done: () => Promise.all(uses),
  };
}

async function seedWithSecret(name: string) {
  const user = await ctx.seed(name);
  const secret = (await ctx.vaultKey(user))?.secretAccessKey ?? '';
  return { user, secret };
}

describe('old key still in use', () => {
  it('waits, re-checks and fails with OldKeyStillInUseError, both keys Active, when use goes on (wait)', async () => {
    const { user, secret } = await seedWithSecret('in-use-wait');
    const use = consumer(ctx, user, secret, ['GracePeriod', 'WaitForOldKeyIdle']);
    const report = await ctx.rotate(user, { waitMs: 600, onEvent: use.onEvent });
    await use.done();

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('OldKeyStillInUseError');
    expect(report.states.filter((s) => s === 'DeactivateOld').length).toBeGreaterThan(1);
    expect(report.after.accessKeys.map((k) => k.status)).toEqual(['Active', 'Active']);
    expect(report.after.vault?.accessKeyId).not.toBe(user.oldAccessKeyId);
    await expectInvariants(ctx, user, report);
  });

  it('goes on once the consumer has switched (wait)', async () => {
    const { user, secret } = await seedWithSecret('in-use-then-idle');
    const use = consumer(ctx, user, secret, ['GracePeriod']);
    // Checked at once after the use, then again after more than a (reported) second of quiet.
    const waitMs = { GracePeriod: 50, WaitForOldKeyIdle: 2_100, RecoveryWindow: 0 };
    const report = await ctx.rotate(user, { waitMs, onEvent: use.onEvent });
    await use.done();

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states).toContain('WaitForOldKeyIdle');
    await expectInvariants(ctx, user, report);
  });

  it('deactivates anyway under the proceed policy', async () => {
    const { user, secret } = await seedWithSecret('in-use-proceed');
    const use = consumer(ctx, user, secret, ['GracePeriod']);
    const report = await ctx.rotate(user, {
      waitMs: 50,
      onEvent: use.onEvent,
      input: { userName: user.userName, oldKeyInUse: 'proceed' },
    });
    await use.done();

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states).not.toContain('WaitForOldKeyIdle');
    await expectInvariants(ctx, user, report);
  });

  it('fails at once with OldKeyStillInUseError under the fail policy', async () => {
    const { user, secret } = await seedWithSecret('in-use-fail');
    const use = consumer(ctx, user, secret, ['GracePeriod']);
    const report = await ctx.rotate(user, {
      waitMs: 50,
      onEvent: use.onEvent,
      input: { userName: user.userName, oldKeyInUse: 'fail' },
    });
    await use.done();

    expect(report.error?.Error).toBe('OldKeyStillInUseError');
    expect(report.states.filter((s) => s === 'DeactivateOld')).toHaveLength(1);
    expect(report.after.accessKeys.map((k) => k.status)).toEqual(['Active', 'Active']);
    await expectInvariants(ctx, user, report);
  });
});
