import { describe, expect, it } from 'vitest';
import { fromVault } from '../../consumer/index.js';
import { restoreConsoleAfterEach } from '../support/console.js';
import { useLocalStack } from '../support/local-stack.js';
import { callEvery, type ConsumerCall, consumerToken, recordingSts } from '../support/consumer.js';
import type { Report } from '../support/scenarios.js';

// Consumers calling STS every 100 ms through real rotations: the grace is twice the consumer's refresh, and
// the in-use margin (refresh + skew, rounded to IAM's whole seconds) lies between them, as docs/consumers.md says.
const REFRESH_SECONDS = 2;
const GRACE_SECONDS = 2 * REFRESH_SECONDS;
const ctx = useLocalStack({
  env: {
    ROTATOR_MIN_GRACE_SECONDS: '1',
    ROTATOR_MIN_RECOVERY_SECONDS: '1',
    ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true',
    ROTATOR_IN_USE_MARGIN_SECONDS: String(REFRESH_SECONDS + 1),
  },
});

restoreConsoleAfterEach();

const entered = (report: Report, state: string): number => {
  const event = report.history.find((e) => e.type === 'StateEntered' && e.state?.name === state);
  if (!event) throw new Error(`${state} never ran`);
  return event.timestamp;
};
const exited = (report: Report, state: string): number => {
  const event = report.history.find((e) => e.type === 'StateExited' && e.state?.name === state);
  if (!event) throw new Error(`${state} never ended`);
  return event.timestamp;
};

/** Starts a consumer reading through fromVault and one that read the key once, both calling every 100 ms. */
async function consumers(userName: string) {
  const user = await ctx.seed(userName);
  const token = await consumerToken(ctx.target, user.vaultPath);
  const credentials = fromVault(
    { vaultPath: user.vaultPath, address: ctx.target.vault.addr, refresh: REFRESH_SECONDS },
    { VAULT_TOKEN: token },
  );
  const readOnce = await ctx.vaultKey(user);
  if (!readOnce) throw new Error('the seeded key is not in Vault');
  const refreshing = callEvery(recordingSts(ctx.target, credentials), 100);
  const once = callEvery(recordingSts(ctx.target, readOnce), 100);
  // Both have signed with the old key before the rotation starts.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { user, refreshing, once };
}

const failures = (calls: ConsumerCall[]) => calls.filter((call) => call.error !== undefined);

// The two rotations wait out their graces at the same time.
describe.concurrent('consumers through a rotation whose grace is twice their refresh', () => {
  it('fromVault never fails and ends on the new key; a key read once fails after the deactivation', async () => {
    const { user, refreshing, once } = await consumers('consumer-proceed');
    const report = await ctx.rotate(user, {
      input: {
        userName: user.userName,
        graceSeconds: GRACE_SECONDS,
        recoverySeconds: 1,
        oldKeyInUse: 'proceed',
      },
      waitMs: {},
    });
    // A few more calls after the old key is gone.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [viaVault, readOnce] = await Promise.all([refreshing.stop(), once.stop()]);

    expect(report.status).toBe('SUCCEEDED');
    const newKeyId = (await ctx.vaultKey(user))?.accessKeyId;
    expect(newKeyId).toBeDefined();
    expect(newKeyId).not.toBe(user.oldAccessKeyId);

    expect(viaVault.length).toBeGreaterThan(GRACE_SECONDS * 5);
    expect(failures(viaVault)).toEqual([]);
    expect(viaVault[0]?.keyId).toBe(user.oldAccessKeyId);
    expect(viaVault.at(-1)?.keyId).toBe(newKeyId);
    // It switched within its refresh of the store, before the old key stopped working.
    const firstNew = viaVault.find((call) => call.keyId === newKeyId);
    expect(firstNew?.at).toBeLessThan(entered(report, 'DeactivateOld'));
    expect(firstNew?.at).toBeLessThanOrEqual(exited(report, 'StoreInVault') + REFRESH_SECONDS * 1000 + 200);

    const deactivatedAt = exited(report, 'DeactivateOld');
    const refused = failures(readOnce);
    expect(readOnce.every((call) => call.keyId === user.oldAccessKeyId)).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((call) => call.error))).toEqual(new Set(['InvalidClientTokenId']));
    // Every call before the deactivation worked; none after it did.
    expect(readOnce.filter((call) => call.at < entered(report, 'DeactivateOld')).every((c) => !c.error)).toBe(
      true,
    );
    expect(readOnce.filter((call) => call.at > deactivatedAt).every((c) => c.error)).toBe(true);
  });

  it('the in-use check is the backstop: a key read once and used past the margin keeps the rotation from retiring it', async () => {
    const { user, refreshing, once } = await consumers('consumer-backstop');
    const report = await ctx.rotate(user, {
      input: {
        userName: user.userName,
        graceSeconds: 2 * GRACE_SECONDS,
        recoverySeconds: 1,
        oldKeyInUse: 'fail',
      },
      waitMs: {},
    });
    const [viaVault, readOnce] = await Promise.all([refreshing.stop(), once.stop()]);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('OldKeyStillInUseError');
    expect(report.after.accessKeys.map((k) => k.status)).toEqual(['Active', 'Active']);
    expect(failures(readOnce)).toEqual([]);
    expect(failures(viaVault)).toEqual([]);
    expect(viaVault.at(-1)?.keyId).toBe((await ctx.vaultKey(user))?.accessKeyId);
  });
});
