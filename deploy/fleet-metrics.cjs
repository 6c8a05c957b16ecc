// The fleet's CloudWatch metrics, as listCandidates and summarizeFleet publish them (embedded metric
// format, per account and account-less), and the alarm on the one number that says rotation works:
// the age of the oldest Active key of an opted-in user, over every account, against the scheduled
// fleet's maxKeyAgeDays plus a slack.
'use strict';

const NAMESPACE = 'IamKeyRotator';
/** Each metric is published with this dimension and, for the fleet-wide view, without any. */
const DIMENSION = 'AccountId';
/** The metrics and their units, per account per fleet run. */
const FLEET_METRICS = {
  UsersDue: 'Count',
  UsersDeferred: 'Count',
  UsersRotated: 'Count',
  UsersFailed: 'Count',
  OldestActiveKeyAgeDays: 'None',
};
const KEY_AGE_METRIC = 'OldestActiveKeyAgeDays';

const DAY = 86_400;
/** CloudWatch evaluates at most 7 days (Period x EvaluationPeriods) for periods of an hour or more. */
const MAX_PERIOD = 7 * DAY;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_SECONDS = { minute: 60, hour: 3600, day: DAY };

/**
 * The alarm's period for the fleet's schedule: a day, or the schedule's interval when it runs less
 * often (whole days), so that every period holds a run's datapoint and a period without one means
 * the fleet stopped. A cron expression is taken to run at least daily; a rate over 7 days cannot be
 * watched: undefined.
 */
function alarmPeriod(schedule) {
  const rate = RATE.exec(String(schedule).trim());
  if (!rate) return DAY;
  const seconds = Number(rate[1]) * UNIT_SECONDS[rate[2].replace(/s$/, '')];
  const period = Math.max(DAY, Math.ceil(seconds / DAY) * DAY);
  return period <= MAX_PERIOD ? period : undefined;
}

const keyAgeAlarmName = (service, stage) => `${service}-${stage}-oldest-key-age`;

/**
 * The alarm on the fleet-wide OldestActiveKeyAgeDays (published without a dimension, so the
 * maximum over a period is the oldest key of every account listed then): above maxKeyAgeDays plus
 * the slack, or no datapoint at all (the fleet stopped: schedule disabled, every run failing before
 * it lists), it alarms the alert topic.
 */
function keyAgeAlarmResources({ service, stage, maxKeyAgeDays, slackDays, periodSeconds }) {
  const threshold = maxKeyAgeDays + slackDays;
  return {
    KeyAgeAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: keyAgeAlarmName(service, stage),
        AlarmDescription: [
          `iam-key-rotator: an opted-in user's oldest Active key is over ${threshold} days old (maxKeyAgeDays ${maxKeyAgeDays} plus keyAgeAlarmSlackDays ${slackDays}), or the fleet published no ${KEY_AGE_METRIC} at all: rotation has stopped.`,
          `Look at the dashboard ${service}-${stage} (${KEY_AGE_METRIC} per account) and the fleet's last runs (iam-key-rotator history): a disabled schedule, runs failing before they list, a user left out run after run (twoKeys, rotationRunning, deferred by maxDuePerAccount) or a rotation failing every time.`,
        ].join(' '),
        Namespace: NAMESPACE,
        MetricName: KEY_AGE_METRIC,
        Statistic: 'Maximum',
        Period: periodSeconds,
        EvaluationPeriods: 1,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        // CloudWatch falls back on the latest datapoints of a longer range first: a run later in the
        // day is no alarm, days without any are.
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: 'AlertTopic' }],
      },
    },
  };
}

module.exports = {
  DIMENSION,
  FLEET_METRICS,
  KEY_AGE_METRIC,
  NAMESPACE,
  alarmPeriod,
  keyAgeAlarmName,
  keyAgeAlarmResources,
};
