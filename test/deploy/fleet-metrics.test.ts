// The key-age alarm (deploy/fleet-metrics.cjs) and the dashboard (deploy/dashboard.cjs), from
// deploy/template.cjs called as serverless calls it; the packaged templates are linted in
// package.test.ts and configured.test.ts.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FLEET_FUNCTIONS, FUNCTIONS } from '../../deploy/policies.cjs';
import { DIMENSION, FLEET_METRICS, NAMESPACE, alarmPeriod } from '../../deploy/fleet-metrics.cjs';
import { resources } from '../../deploy/template.cjs';
import { FLEET_ROTATION, type Resource, pascal, templateContext } from './template.js';

const DAY = 86_400;

async function build(params: Record<string, unknown> = {}) {
  return (await resources(templateContext(params))).Resources as Record<string, Resource>;
}

interface Widget {
  type: string;
  properties: {
    title: string;
    metrics: unknown[][];
    stat?: string;
    period: number;
    annotations?: { horizontal: { value: number }[] };
  };
}

/** The dashboard's body with its Fn::Sub variables filled in by the names they stand for. */
function dashboard(r: Record<string, Resource>): { widgets: Widget[]; variables: Record<string, unknown> } {
  const [text, variables] = (
    r.Dashboard?.Properties.DashboardBody as { 'Fn::Sub': [string, Record<string, unknown>] }
  )['Fn::Sub'];
  const body = text.replace(/\$\{([\w:]+)\}/g, (whole, name: string) => {
    if (name.startsWith('AWS::')) return name;
    expect(variables, `\${${name}}`).toHaveProperty(name);
    return name;
  });
  return { widgets: (JSON.parse(body) as { widgets: Widget[] }).widgets, variables };
}

describe('the key-age alarm (KeyAgeAlarm)', () => {
  it('alarms the topic when the fleet-wide oldest Active key is over maxKeyAgeDays (90) plus keyAgeAlarmSlackDays (7), or nothing is published', async () => {
    const r = await build();
    expect(r.KeyAgeAlarm?.Properties).toMatchObject({
      AlarmName: 'iam-key-rotator-dev-oldest-key-age',
      Namespace: 'IamKeyRotator',
      MetricName: 'OldestActiveKeyAgeDays',
      Statistic: 'Maximum',
      Period: DAY,
      EvaluationPeriods: 1,
      Threshold: 97,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: 'AlertTopic' }],
    });
    // The account-less aggregate: one alarm for every account, whatever accounts there are.
    expect(r.KeyAgeAlarm?.Properties.Dimensions).toBeUndefined();
    expect(String(r.KeyAgeAlarm?.Properties.AlarmDescription)).toMatch(/rotation has stopped/);
  });

  it('follows the scheduled fleet’s maxKeyAgeDays and the slack parameter', async () => {
    const r = await build({
      keyAgeAlarmSlackDays: '3',
      fleetRotation: { ...FLEET_ROTATION, input: { maxKeyAgeDays: 30 } },
    });
    expect(r.KeyAgeAlarm?.Properties.Threshold).toBe(33);
    const defaults = await build({ fleetRotation: { schedule: 'rate(1 day)' } });
    // FleetInput's default maxKeyAgeDays.
    expect(defaults.KeyAgeAlarm?.Properties.Threshold).toBe(97);
  });

  it('reads the same fleet schedule serverless.yml declares', async () => {
    const serverless = parse(await readFile('serverless.yml', 'utf8')) as {
      custom: { fleetRotation: unknown };
    };
    expect(serverless.custom.fleetRotation).toEqual(FLEET_ROTATION);
  });

  it('takes a period the fleet’s schedule fills: a day, or the schedule’s interval up to 7 days', async () => {
    expect(alarmPeriod('rate(1 day)')).toBe(DAY);
    expect(alarmPeriod('rate(6 hours)')).toBe(DAY);
    expect(alarmPeriod('rate(30 minutes)')).toBe(DAY);
    expect(alarmPeriod('rate(3 days)')).toBe(3 * DAY);
    expect(alarmPeriod('rate(36 hours)')).toBe(2 * DAY);
    expect(alarmPeriod('rate(7 days)')).toBe(7 * DAY);
    expect(alarmPeriod('cron(0 3 * * ? *)')).toBe(DAY);
    expect(alarmPeriod('rate(8 days)')).toBeUndefined();
    const weekly = await build({ fleetRotation: { ...FLEET_ROTATION, schedule: 'rate(7 days)' } });
    expect(weekly.KeyAgeAlarm?.Properties).toMatchObject({ Period: 7 * DAY, EvaluationPeriods: 1 });
  });

  it.each([
    [{ keyAgeAlarmSlackDays: '0' }, "keyAgeAlarmSlackDays is a whole number from 1 to 365, not '0'"],
    [{ keyAgeAlarmSlackDays: 'week' }, 'keyAgeAlarmSlackDays is a whole number from 1 to 365'],
    [
      { fleetRotation: { ...FLEET_ROTATION, schedule: 'rate(30 days)' } },
      'custom.fleetRotation.schedule rate(30 days) runs less often than weekly',
    ],
  ])('refuses %j at package time', async (params, message) => {
    await expect(build(params)).rejects.toThrow(message);
  });

  it('may publish to the alert topic', async () => {
    const r = await build();
    expect(JSON.stringify(r.AlertTopicPolicy)).toContain(':alarm:iam-key-rotator-dev-oldest-key-age');
  });
});

describe('the dashboard', () => {
  it('shows each machine’s executions succeeded, failed, timed out and aborted', async () => {
    const { widgets, variables } = dashboard(await build());
    expect(variables).toMatchObject({
      RotationMachine: { Ref: 'RotateAccessKeyStateMachine' },
      FleetMachine: { Ref: 'RotateFleetStateMachine' },
    });
    for (const machine of ['RotationMachine', 'FleetMachine']) {
      const widget = widgets.find((w) => w.properties.metrics.some((m) => m[3] === machine));
      expect(widget?.properties.stat).toBe('Sum');
      expect(widget?.properties.metrics.map((m) => [m[0], m[1], m[2]])).toEqual(
        ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((name) => [
          'AWS/States',
          name,
          'StateMachineArn',
        ]),
      );
    }
  });

  it('shows the fleet’s metrics: the users counts summed, the key age per account with the alarm’s threshold', async () => {
    const { widgets } = dashboard(await build());
    expect(NAMESPACE).toBe('IamKeyRotator');
    expect(DIMENSION).toBe('AccountId');
    expect(FLEET_METRICS).toEqual({
      UsersDue: 'Count',
      UsersDeferred: 'Count',
      UsersRotated: 'Count',
      UsersFailed: 'Count',
      OldestActiveKeyAgeDays: 'None',
    });
    const counts = widgets.find((w) => w.properties.metrics.some((m) => m[1] === 'UsersDue'));
    expect(counts?.properties.metrics.map((m) => [m[0], m[1]])).toEqual(
      ['UsersDue', 'UsersDeferred', 'UsersRotated', 'UsersFailed'].map((name) => ['IamKeyRotator', name]),
    );
    const age = widgets.find((w) => JSON.stringify(w.properties.metrics).includes('OldestActiveKeyAgeDays'));
    expect(JSON.stringify(age?.properties.metrics)).toContain(
      `SEARCH('{IamKeyRotator,AccountId} MetricName=\\"OldestActiveKeyAgeDays\\"', 'Maximum', ${DAY})`,
    );
    expect(age?.properties.annotations?.horizontal).toEqual([{ label: 'KeyAgeAlarm', value: 97 }]);
  });

  it('shows every function’s errors and durations', async () => {
    const { widgets, variables } = dashboard(await build());
    const fns = [...FUNCTIONS, ...FLEET_FUNCTIONS];
    for (const fn of fns)
      expect(variables[`${pascal(fn)}Function`]).toEqual({ Ref: `${pascal(fn)}LambdaFunction` });
    for (const [metric, stat] of [
      ['Errors', 'Sum'],
      ['Duration', 'Maximum'],
    ]) {
      const widget = widgets.find((w) => w.properties.metrics.some((m) => m[1] === metric));
      expect(widget?.properties.stat).toBe(stat);
      expect(widget?.properties.metrics.map((m) => m[3])).toEqual(fns.map((fn) => `${pascal(fn)}Function`));
    }
  });
});
