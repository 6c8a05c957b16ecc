// Builds the state machine's schedule events from `custom.rotations`: one rule per user, each
// carrying that user's execution input. Every entry is checked at package time against the same
// execution input schema and deployment floors ValidateInput applies, so a bad entry fails
// `serverless package` instead of failing its executions every month.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');
// Functional omit: works on classic and zod/mini schemas alike.
const { omit } = require('zod/mini');
const { ROTATION_SCHEDULE_ROLE, roleArn, rotationRuleName } = require('./schedule-roles.cjs');

/** The execution input schema and the floors check, from their one source. */
const input = tsxRequire('../functions/commons/input.ts', __filename);

/** A parameter, or the deployment default when serverless.yml does not declare it. */
async function param(resolveVariable, name) {
  return resolveVariable(`param:${name}, ${JSON.stringify(input.DEFAULT_FLOORS[name])}`);
}

/** The deployment's floors from its parameters; a malformed one fails packaging. */
async function floorsOf(resolveVariable) {
  const names = Object.keys(input.DEFAULT_FLOORS);
  const values = Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, await param(resolveVariable, name)])),
  );
  const parsed = input.FloorSettings.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `param ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid deployment floors: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Every problem of one entry's execution input, each naming its field. */
function problemsOf(entry, floors) {
  // A fleet's task token is the fleet machine's to hand out, never a schedule's.
  const parsed = omit(input.ExecutionInput, { fleetTaskToken: true }).safeParse(entry);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(input)';
      return issue.code === 'unrecognized_keys'
        ? `${field}: unknown field(s) ${issue.keys.join(', ')}`
        : `${field}: ${issue.message}`;
    });
  }
  return input.belowFloors(parsed.data, floors);
}

/** The schedule events; throws naming each bad entry (by index and userName) and field. */
async function schedules({ resolveVariable }) {
  const rotations = (await resolveVariable('self:custom.rotations')) || [];
  if (!Array.isArray(rotations)) throw new Error('custom.rotations must be a list of execution inputs');
  const floors = await floorsOf(resolveVariable);
  const entries = rotations.map((rotation) => {
    const { schedule, enabled, ...entry } = rotation ?? {};
    return { schedule, enabled, entry };
  });
  const errors = entries.flatMap(({ entry }, index) => {
    const name = `custom.rotations[${index}]${typeof entry.userName === 'string' ? ` (${entry.userName})` : ''}`;
    return problemsOf(entry, floors).map((problem) => `${name}: ${problem}`);
  });
  if (errors.length > 0) throw new Error(`invalid scheduled rotation(s): ${errors.join('; ')}`);
  const service = String(await resolveVariable('self:service'));
  const stage = String(await resolveVariable('sls:stage'));
  return entries.map(({ schedule, enabled, entry }, index) => ({
    schedule: {
      rate: schedule || '${self:custom.defaultSchedule}',
      enabled: enabled !== false,
      input: entry,
      // Named, so that the role's trust policy can name the rules (deploy/schedule-roles.cjs).
      name: rotationRuleName(service, stage, index),
      role: roleArn(ROTATION_SCHEDULE_ROLE),
    },
  }));
}

module.exports = schedules;
module.exports.floorsOf = floorsOf;
