import { afterEach, describe, expect, it } from 'vitest';
import { expectInvariants } from '../support/invariants.js';
import { restoreConsoleAfterEach } from '../support/console.js';
import { useLocalStack } from '../support/local-stack.js';

// Rotations against an IAM that throttles like AWS (a token bucket per action): the SDK's retries
// and the state machine's Retry on AwsUnavailableError absorb `Throttling`, and no promise breaks.
const ctx = useLocalStack();

restoreConsoleAfterEach();
afterEach(() => {
  ctx.stack.aws.setIamRateLimit(undefined);
});

describe('rotations under IAM throttling', () => {
  it('rotates four users at once through a tight rate limit, every promise kept', async () => {
    const users = await Promise.all([0, 1, 2, 3].map((i) => ctx.seed(`throttled-${i}`)));
    // Four executions making the same calls at once through buckets of 2, refilled at 4 a second.
    // The harness lists each user's keys when its execution ends, while the others still run: that
    // action gets room, so what is proven is the rotator's handling of throttling, not the harness's.
    ctx.stack.aws.setIamRateLimit({
      ratePerSecond: 4,
      burst: 2,
      actions: { ListAccessKeys: { ratePerSecond: 100, burst: 100 } },
    });
    const reports = await Promise.all(
      users.map((user, i) => ctx.rotate(user, { executionName: `throttled-${i}`, retryPauseMs: 500 })),
    );
    const throttles = ctx.stack.aws.iamThrottles();
    ctx.stack.aws.setIamRateLimit(undefined);
    for (const [i, user] of users.entries()) {
      const report = reports[i];
      expect(report?.status, JSON.stringify(report?.error)).toBe('SUCCEEDED');
      if (report) await expectInvariants(ctx, user, report);
    }
    const total = Object.values(throttles).reduce((sum, n) => sum + n, 0);
    expect(total, JSON.stringify(throttles)).toBeGreaterThan(0);
  });
});
