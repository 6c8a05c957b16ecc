// The fleet machine's schedule from `custom.fleetRotation` (schedule, enabled, input). The input is
// checked at package time against the fleet input schema and the deployment's floors, as
// listCandidates checks it, so a bad default fails `serverless package` instead of every day's run.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');
const { floorsOf } = require('./schedules.cjs');
const { FLEET_SCHEDULE_ROLE, fleetRuleName, roleArn } = require('./schedule-roles.cjs');

const fleet = tsxRequire('../functions/commons/fleet-input.ts', __filename);
const input = tsxRequire('../functions/commons/input.ts', __filename);

/**
 * With rotateUsersAtRootPath every grant on a user requires the opt-in tag: a fleet selecting other
 * users (all of them, or by another tag) would only fail on them, so it is refused (planFleet too).
 */
function selectsUnoptedUsers(input) {
  if (input.allUsersInPath) return ['allUsersInPath: rotateUsersAtRootPath rotates opted-in users only'];
  const other = [
    ['tagKey', input.tagKey, fleet.DEFAULT_TAG_KEY],
    ['tagValue', input.tagValue, fleet.DEFAULT_TAG_VALUE],
  ].filter(([, value, only]) => value !== undefined && value !== only);
  return other.map(([name, , only]) => `${name}: rotateUsersAtRootPath selects by ${only} only`);
}

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
  const atRoot = String(await resolveVariable('param:rotateUsersAtRootPath, false')) === 'true';
  if (atRoot && parsed.success) problems.push(...selectsUnoptedUsers(parsed.data));
  if (problems.length > 0) throw new Error(`invalid custom.fleetRotation.input: ${problems.join('; ')}`);
  const service = String(await resolveVariable('self:service'));
  const stage = String(await resolveVariable('sls:stage'));
  return [
    {
      schedule: {
        rate: schedule,
        enabled: enabled !== false,
        input: fleetInput,
        // Named, so that the role's trust policy can name the rule (deploy/schedule-roles.cjs).
        name: fleetRuleName(service, stage),
        role: roleArn(FLEET_SCHEDULE_ROLE),
      },
    },
  ];
}

module.exports = fleetSchedule;
