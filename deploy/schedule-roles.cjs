// The roles the schedules start the state machines with. serverless-step-functions would make
// them trusting events.amazonaws.com from anywhere; these trust EventBridge only for this account
// and this stack's schedule rules (aws:SourceAccount, aws:SourceArn: EventBridge sends both when it
// assumes a target's role), so no other account's or rule's target can use them. The rules get
// names for that (deploy/schedules.cjs, deploy/fleet-schedule.cjs take them from here).
'use strict';

/** The per-user schedules' rule names: `<service>-<stage>-rotation-<n>`. */
const rotationRulePrefix = (service, stage) => `${service}-${stage}-rotation-`;
const rotationRuleName = (service, stage, index) => `${rotationRulePrefix(service, stage)}${index}`;
/** The fleet schedule's rule name. */
const fleetRuleName = (service, stage) => `${service}-fleet-${stage}-schedule`;

const ROTATION_SCHEDULE_ROLE = 'RotationScheduleRole';
const FLEET_SCHEDULE_ROLE = 'FleetScheduleRole';

/** What a schedule event names as its role (the plugin then makes none of its own). */
const roleArn = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

const rule = (name) => `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${name}`;

/** A role EventBridge may assume for the rules `ruleArn` matches, to start `machine` only. */
function scheduleRole({ description, ruleArn, machine }) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: description,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': { 'Fn::Sub': ruleArn } },
            },
          },
        ],
      },
      Policies: [
        {
          PolicyName: 'start-execution',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machine } }],
          },
        },
      ],
    },
  };
}

/** The schedules' roles: the per-user schedules' only when there is one. */
function scheduleRoleResources({ service, stage, rotations }) {
  const resources = {
    [FLEET_SCHEDULE_ROLE]: scheduleRole({
      description: "iam-key-rotator: EventBridge's fleet schedule starts the fleet machine, nothing else.",
      ruleArn: rule(fleetRuleName(service, stage)),
      machine: 'RotateFleetStateMachine',
    }),
  };
  if (rotations > 0) {
    resources[ROTATION_SCHEDULE_ROLE] = scheduleRole({
      description:
        "iam-key-rotator: EventBridge's per-user schedules start the rotation machine, nothing else.",
      ruleArn: rule(`${rotationRulePrefix(service, stage)}*`),
      machine: 'RotateAccessKeyStateMachine',
    });
  }
  return resources;
}

module.exports = {
  ROTATION_SCHEDULE_ROLE,
  FLEET_SCHEDULE_ROLE,
  rotationRuleName,
  fleetRuleName,
  roleArn,
  scheduleRoleResources,
};
