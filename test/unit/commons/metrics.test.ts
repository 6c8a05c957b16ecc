import { describe, expect, it } from 'vitest';
import { publishedMetrics } from '../support.js';
import { DIMENSION, FLEET_METRICS, NAMESPACE } from '../../../deploy/fleet-metrics.cjs';
import {
  ACCOUNT_DIMENSION,
  FLEET_METRIC_UNITS,
  METRICS_NAMESPACE,
  publishFleetMetrics,
} from '../../../functions/commons/metrics.js';

describe('publishFleetMetrics', () => {
  it('names what the alarm and the dashboard read (deploy/fleet-metrics.cjs)', () => {
    expect(METRICS_NAMESPACE).toBe(NAMESPACE);
    expect(ACCOUNT_DIMENSION).toBe(DIMENSION);
    expect(FLEET_METRIC_UNITS).toEqual(FLEET_METRICS);
  });

  it('writes one embedded-metric-format line: per account and account-less, the values at the top level', async () => {
    const [line] = await publishedMetrics('WARN', async () =>
      publishFleetMetrics('222222222222', { UsersDue: 12, OldestActiveKeyAgeDays: 130 }),
    );
    expect(line).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'IamKeyRotator',
            Dimensions: [['AccountId'], []],
            Metrics: [
              { Name: 'UsersDue', Unit: 'Count' },
              { Name: 'OldestActiveKeyAgeDays', Unit: 'None' },
            ],
          },
        ],
      },
      AccountId: '222222222222',
      UsersDue: 12,
      OldestActiveKeyAgeDays: 130,
    });
  });

  it('writes nothing under SILENT, or without a value', async () => {
    expect(
      await publishedMetrics('SILENT', async () => publishFleetMetrics('222222222222', { UsersDue: 1 })),
    ).toEqual([]);
    expect(await publishedMetrics('INFO', async () => publishFleetMetrics('222222222222', {}))).toEqual([]);
  });
});
