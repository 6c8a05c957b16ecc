import { describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { useHandler } from './support.js';

const { handler } = useHandler<FleetSummary>(() => import('../../functions/summarizeFleet.js'));

describe('summarizeFleet', () => {
  it('counts every skipped user from skippedTotal while naming only those listed', async () => {
    const summary = await handler({
      results: [{ userName: 'a', outcome: 'rotated' }],
      skipped: [{ userName: 'b', reason: 'notTagged' }],
      skippedTotal: 2500,
      dryRun: false,
    });
    expect(summary.skipped).toEqual([{ userName: 'b', reason: 'notTagged' }]);
    expect(summary.counts).toEqual({ rotated: 1, planned: 0, failed: 0, alreadyStarted: 0, skipped: 2500 });
    expect(summary.failureCause).toBeUndefined();
  });

  it('names each failed user and its error in the cause, without claiming what the child left', async () => {
    const summary = await handler({
      results: [
        { userName: 'a', outcome: 'failed', error: 'VaultWriteFailed' },
        { userName: 'b', outcome: 'rotated' },
      ],
      skipped: [],
      dryRun: false,
    });
    expect(summary.counts.skipped).toBe(0);
    expect(summary.failureCause).toContain('1 of 2 rotations failed');
    expect(summary.failureCause).toContain('a (VaultWriteFailed)');
    expect(summary.failureCause).not.toContain('unchanged');
  });
});
