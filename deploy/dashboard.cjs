// The CloudWatch dashboard `<service>-<stage>`: executions succeeded and failed per machine, the
// fleet's metrics (deploy/fleet-metrics.cjs), and the functions' errors and durations.
'use strict';

const { DIMENSION, FLEET_METRICS, KEY_AGE_METRIC, NAMESPACE } = require('./fleet-metrics.cjs');

const pascal = (name) => name.charAt(0).toUpperCase() + name.slice(1);
const HOUR = 3600;
const DAY = 86_400;

/** A metric widget: `metrics` in the dashboard body's notation, on a grid of 24 columns. */
const widget = (title, position, properties) => ({
  type: 'metric',
  ...position,
  width: 12,
  height: 6,
  properties: { title, region: '${AWS::Region}', view: 'timeSeries', ...properties },
});

const EXECUTION_METRICS = [
  'ExecutionsSucceeded',
  'ExecutionsFailed',
  'ExecutionsTimedOut',
  'ExecutionsAborted',
];

/**
 * The dashboard; `functions` are the function names as serverless.yml declares them. The body is a
 * Fn::Sub: the machines' ARNs and the functions' names are filled in at deployment.
 */
function dashboardResources({ service, stage, functions, keyAgeThreshold }) {
  const variables = {
    RotationMachine: { Ref: 'RotateAccessKeyStateMachine' },
    FleetMachine: { Ref: 'RotateFleetStateMachine' },
    ...Object.fromEntries(
      functions.map((fn) => [`${pascal(fn)}Function`, { Ref: `${pascal(fn)}LambdaFunction` }]),
    ),
  };
  const executions = (machine, label) =>
    EXECUTION_METRICS.map((name) => [
      'AWS/States',
      name,
      'StateMachineArn',
      `\${${machine}}`,
      {
        label: `${label} ${name
          .replace('Executions', '')
          .replace(/(?<=.)([A-Z])/g, ' $1')
          .toLowerCase()}`,
      },
    ]);
  const perFunction = (name) =>
    functions.map((fn) => ['AWS/Lambda', name, 'FunctionName', `\${${pascal(fn)}Function}`, { label: fn }]);
  const counts = Object.keys(FLEET_METRICS).filter((name) => name !== KEY_AGE_METRIC);
  const body = {
    widgets: [
      widget(
        'Rotations (executions per hour)',
        { x: 0, y: 0 },
        {
          metrics: executions('RotationMachine', 'rotation'),
          stat: 'Sum',
          period: HOUR,
        },
      ),
      widget(
        'Fleet runs (executions per hour)',
        { x: 12, y: 0 },
        {
          metrics: executions('FleetMachine', 'fleet'),
          stat: 'Sum',
          period: HOUR,
        },
      ),
      widget(
        'Users per day, every account',
        { x: 0, y: 6 },
        {
          metrics: counts.map((name) => [NAMESPACE, name, { label: name }]),
          stat: 'Sum',
          period: DAY,
        },
      ),
      widget(
        'Oldest Active key of an opted-in user (days), per account',
        { x: 12, y: 6 },
        {
          metrics: [
            [
              {
                expression: `SEARCH('{${NAMESPACE},${DIMENSION}} MetricName="${KEY_AGE_METRIC}"', 'Maximum', ${DAY})`,
                id: 'accounts',
              },
            ],
          ],
          period: DAY,
          annotations: { horizontal: [{ label: 'KeyAgeAlarm', value: keyAgeThreshold }] },
        },
      ),
      widget(
        'Function errors',
        { x: 0, y: 12 },
        { metrics: perFunction('Errors'), stat: 'Sum', period: HOUR },
      ),
      widget(
        'Function durations (maximum, ms)',
        { x: 12, y: 12 },
        {
          metrics: perFunction('Duration'),
          stat: 'Maximum',
          period: HOUR,
        },
      ),
    ],
  };
  return {
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: `${service}-${stage}`,
        DashboardBody: { 'Fn::Sub': [JSON.stringify(body), variables] },
      },
    },
  };
}

module.exports = { dashboardResources };
