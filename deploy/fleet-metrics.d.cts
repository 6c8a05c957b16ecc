// Types of fleet-metrics.cjs for the tests.
export const NAMESPACE: string;
export const DIMENSION: string;
/** Each fleet metric's name and CloudWatch unit. */
export const FLEET_METRICS: Record<string, string>;
export const KEY_AGE_METRIC: string;
/** The key-age alarm's period in seconds for a fleet schedule expression; undefined past 7 days. */
export function alarmPeriod(schedule: string): number | undefined;
