/** CloudWatch's namespace and dimension of the fleet's metrics (deploy/fleet-metrics.cjs, which a test holds equal). */
export const METRICS_NAMESPACE = 'IamKeyRotator';
export const ACCOUNT_DIMENSION = 'AccountId';

/** The fleet's metrics and their units (deploy/fleet-metrics.cjs FLEET_METRICS). */
export const FLEET_METRIC_UNITS = {
  UsersDue: 'Count',
  UsersDeferred: 'Count',
  UsersRotated: 'Count',
  UsersFailed: 'Count',
  OldestActiveKeyAgeDays: 'None',
} as const;
export type FleetMetric = keyof typeof FLEET_METRIC_UNITS;

/**
 * Publishes an account's fleet metrics in CloudWatch's embedded metric format: one JSON log line
 * that CloudWatch Logs turns into metrics with the AccountId dimension and without any (the
 * fleet-wide view the key-age alarm watches), so no API call and no permission. Written whatever
 * the log level (a metric is no log), but for SILENT (the tests').
 */
export function publishFleetMetrics(accountId: string, values: Partial<Record<FleetMetric, number>>): void {
  const level = (process.env.AWS_LAMBDA_LOG_LEVEL || process.env.POWERTOOLS_LOG_LEVEL || '').toUpperCase();
  if (level === 'SILENT') return;
  const names = Object.keys(values) as FleetMetric[];
  if (names.length === 0) return;
  const line = JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [[ACCOUNT_DIMENSION], []],
          Metrics: names.map((name) => ({ Name: name, Unit: FLEET_METRIC_UNITS[name] })),
        },
      ],
    },
    [ACCOUNT_DIMENSION]: accountId,
    ...values,
  });
  // As the logger writes (logger.ts): the local stack captures the global console.
  if (process.env.POWERTOOLS_DEV === 'true') console.info(line);
  else process.stdout.write(`${line}\n`);
}
