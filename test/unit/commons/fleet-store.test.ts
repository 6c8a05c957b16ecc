import { describe, expect, it } from 'vitest';
import { executionNameOf, loadFleetSettings, runKeys } from '../../../functions/commons/fleet-store.js';

const FLEET = 'arn:aws:states:eu-west-1:111111111111:execution:iam-key-rotator-fleet-prod:nightly-2026';

describe('runKeys', () => {
  it('keeps every object of a run under runs/<fleet execution name>/, one per account and kind', () => {
    const keys = runKeys(FLEET);
    expect(executionNameOf(FLEET)).toBe('nightly-2026');
    expect([
      keys.due('222222222222'),
      keys.account('222222222222'),
      keys.manifest,
      keys.results,
      keys.summary,
    ]).toEqual([
      'runs/nightly-2026/due/222222222222.jsonl',
      'runs/nightly-2026/accounts/222222222222.json',
      'runs/nightly-2026/due.manifest',
      'runs/nightly-2026/results',
      'runs/nightly-2026/summary.json',
    ]);
    // Another run, other keys; the same run, the same keys (a retried step overwrites).
    expect(runKeys(`${FLEET}-b`).manifest).not.toBe(keys.manifest);
    expect(runKeys(FLEET).due('222222222222')).toBe(keys.due('222222222222'));
  });
});

describe('loadFleetSettings', () => {
  const BUCKET = { ROTATOR_FLEET_BUCKET: 'iam-key-rotator-fleet-prod-111111111111' };

  it('reads the bucket, its key and the deployment’s maxDuePerAccount (default 1,000)', () => {
    expect(loadFleetSettings(BUCKET)).toEqual({
      bucket: BUCKET.ROTATOR_FLEET_BUCKET,
      keyId: undefined,
      maxDuePerAccount: 1000,
    });
    expect(
      loadFleetSettings({
        ...BUCKET,
        ROTATOR_FLEET_BUCKET_KEY_ID: 'arn:aws:kms:k',
        ROTATOR_MAX_DUE_PER_ACCOUNT: '10000',
      }),
    ).toEqual({ bucket: BUCKET.ROTATOR_FLEET_BUCKET, keyId: 'arn:aws:kms:k', maxDuePerAccount: 10_000 });
  });

  it.each([
    [{}, 'ROTATOR_FLEET_BUCKET'],
    [{ ROTATOR_FLEET_BUCKET: 'UPPER_case' }, 'ROTATOR_FLEET_BUCKET: must be an S3 bucket name'],
    [{ ...BUCKET, ROTATOR_MAX_DUE_PER_ACCOUNT: '0' }, 'ROTATOR_MAX_DUE_PER_ACCOUNT'],
    [{ ...BUCKET, ROTATOR_MAX_DUE_PER_ACCOUNT: '10001' }, 'ROTATOR_MAX_DUE_PER_ACCOUNT'],
    [{ ...BUCKET, ROTATOR_MAX_DUE_PER_ACCOUNT: 'many' }, 'ROTATOR_MAX_DUE_PER_ACCOUNT'],
  ])('refuses %j as ConfigurationError naming the variable', (env, named) => {
    expect(() => loadFleetSettings(env)).toThrow(
      expect.objectContaining({
        name: 'ConfigurationError',
        message: expect.stringContaining(named) as string,
      }),
    );
  });
});
