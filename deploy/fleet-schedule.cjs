// The fleet machine's schedule from `custom.fleetRotation` (schedule, enabled, input). The input is
// checked at package time against the fleet input schema and the deployment's floors, as
// listCandidates checks it, so a bad default fails `serverless package` instead of every day's run.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');
const { floorsOf } = require('./schedules.cjs');

const fleet = tsxRequire('../functions/commons/fleet-input.ts', __filename);
const input = tsxRequire('../functions/commons/input.ts', __filename);

/** One schedule event for the fleet machine; throws naming each bad field. */
async function fleetSchedule({ resolveVariable }) {
  const config = (await resolveVariable('self:custom.fleetRotation')) ?? {};
  const { schedule = 'rate(1 day)', enabled = true, input: fleetInput = {} } = config;
  const parsed = fleet.FleetInput.safeParse(fleetInput);
  const problems = parsed.success
    ? input
        .belowFloors(parsed.data.userDefaults, await floorsOf(resolveVariable))
        .map((p) => `userDefaults: ${p}`)
    : parsed.error.issues.map((issue) => {
        const field = issue.path.join('.') || '(input)';
        return issue.code === 'unrecognized_keys'
          ? `${field}: unknown field(s) ${issue.keys.join(', ')}`
          : `${field}: ${issue.message}`;
      });
  if (problems.length > 0) throw new Error(`invalid custom.fleetRotation.input: ${problems.join('; ')}`);
  return [{ schedule: { rate: schedule, enabled: enabled !== false, input: fleetInput } }];
}

module.exports = fleetSchedule;
