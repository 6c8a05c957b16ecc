// The alert resources: one SNS topic (its own KMS key, since EventBridge and CloudWatch cannot
// publish to a topic under the AWS-managed key), the rule on failed, timed-out or aborted
// executions of both state machines, the rule on rotations stopped by a pin that does not verify
// (possible tampering), the ExecutionsFailed alarms and the key-age alarm (deploy/fleet-metrics.cjs),
// the tamper rules (deploy/tamper-rules.cjs), and the rule on IAM key changes made by anyone but the
// rotator's own roles (CloudTrail), in this account and, forwarded to this bus, in the member
// accounts (deploy/iam-changes.cjs). template.cjs merges them in.
'use strict';

const {
  FUNCTION_STATEMENTS,
  KEY_ADMINISTRATION,
  TAMPER_PHRASE,
  VAULT_PATH_TAG_KEY,
} = require('./policies.cjs');
const { AUDITED_ACTIONS, keyChangePattern, memberEventsBusPolicies } = require('./iam-changes.cjs');
const { tamperRuleResources } = require('./tamper-rules.cjs');
const { keyAgeAlarmName, keyAgeAlarmResources } = require('./fleet-metrics.cjs');

/** The state machines an operator hears about, by logical id. */
const MACHINES = ['RotateAccessKeyStateMachine', 'RotateFleetStateMachine'];

const pascal = (name) => name.charAt(0).toUpperCase() + name.slice(1);

/** The rotator's functions allowed an audited call: their roles' calls are the rotations' own. */
const auditedWriters = () =>
  Object.keys(FUNCTION_STATEMENTS).filter((fn) =>
    FUNCTION_STATEMENTS[fn].some((s) => [s.Action].flat().some((a) => AUDITED_ACTIONS.includes(a))),
  );

const CONSOLE =
  'https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<execution>';

/** The message an operator gets for a failed execution (EventBridge input transformer). */
const FAILURE_MESSAGE = {
  InputPathsMap: {
    region: '$.region',
    machine: '$.detail.stateMachineArn',
    execution: '$.detail.executionArn',
    name: '$.detail.name',
    status: '$.detail.status',
    error: '$.detail.error',
    cause: '$.detail.cause',
  },
  InputTemplate: [
    '"iam-key-rotator: execution <name> ended <status>."',
    '"State machine: <machine>"',
    '"Error: <error>"',
    '"Cause: <cause>"',
    `"Console: ${CONSOLE}"`,
  ].join('\n'),
};

/**
 * The message for a rotation stopped because a user's pin does not verify: someone who may tag the
 * user rewrote where its key is served. The generic failure message goes out too; this one says why
 * it matters and where to look.
 */
const TAMPER_MESSAGE = {
  InputPathsMap: {
    region: '$.region',
    execution: '$.detail.executionArn',
    name: '$.detail.name',
    error: '$.detail.error',
    cause: '$.detail.cause',
  },
  InputTemplate: [
    '"iam-key-rotator: POSSIBLE TAMPERING: execution <name> stopped: a user\'s pin was changed outside the rotator."',
    `"Someone allowed iam:TagUser may have rewritten its ${VAULT_PATH_TAG_KEY} tag: find who in CloudTrail (TagUser on that user)."`,
    '"Execution: <execution>"',
    '"Error: <error>"',
    '"Cause: <cause>"',
    `"Console: ${CONSOLE}"`,
  ].join('\n'),
};

/**
 * A failed execution whose cause carries TAMPER_PHRASE: a rotation's InvalidInputError for a pin
 * whose MAC does not verify (functions/commons/pin.ts), or a fleet's for a user listCandidates would
 * not start for that reason. A fleet names its children's failures by error name only, so one
 * tampered pin is one alert.
 */
const tamperPattern = () => ({
  source: ['aws.states'],
  'detail-type': ['Step Functions Execution Status Change'],
  detail: {
    status: ['FAILED'],
    stateMachineArn: MACHINES.map((id) => ({ Ref: id })),
    cause: [{ wildcard: `*${TAMPER_PHRASE}*` }],
  },
});

/** The message for a key change made outside a rotation, here or in a member account. */
const OUT_OF_BAND_MESSAGE = {
  InputPathsMap: {
    event: '$.detail.eventName',
    user: '$.detail.requestParameters.userName',
    account: '$.account',
    region: '$.region',
    key: '$.detail.requestParameters.accessKeyId',
    // CreateAccessKey names the new key in its response (CloudTrail leaves the secret out).
    newKey: '$.detail.responseElements.accessKey.accessKeyId',
    actor: '$.detail.userIdentity.arn',
    time: '$.detail.eventTime',
    ip: '$.detail.sourceIPAddress',
    refused: '$.detail.errorCode',
    eventId: '$.detail.eventID',
  },
  InputTemplate: [
    '"iam-key-rotator: <event> on the IAM user <user> in account <account> by <actor> outside a rotation, at <time> from <ip>."',
    '"Access key: <key><newKey>. Refused with: <refused> (nothing here: it succeeded)."',
    '"The event does not carry the user\'s path: if <user> is not a rotated user, nothing to do."',
    '"What to do otherwise: if nobody you know did this, treat the user\'s keys as exposed: a key created by hand is served by no Vault path and its holder can use it until it is deleted; rotate the user (iam-key-rotator rotate <user>) and delete the key. Find who in CloudTrail: event id <eventId>, account <account>, region <region>."',
  ].join('\n'),
};

/**
 * The roles whose calls are the rotations' own: the functions allowed an audited call, and the
 * target role in each allowed account (its sessions are the same functions'; a member account's
 * rule leaves them out already).
 */
function rotatorWriters({ accountIds, targetRoleName }) {
  return [
    ...auditedWriters().map((fn) => ({ 'Fn::GetAtt': [`${pascal(fn)}Role`, 'Arn'] })),
    ...accountIds.map((id) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${id}:role/${targetRoleName}` })),
  ];
}

/** The alarm on a machine's ExecutionsFailed metric. */
function failedAlarm(service, stage, machineId, label) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${service}-${stage}-${label}-executions-failed`,
      AlarmDescription: `iam-key-rotator: an execution of the ${label} state machine failed.`,
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machineId } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'AlertTopic' }],
    },
  };
}

const ALARMS = { RotationFailedAlarm: 'rotation', FleetFailedAlarm: 'fleet' };

/**
 * The alert resources for the deployment's parameters: `alertEmail` subscribes an address;
 * `outOfBand` adds the CloudTrail rules on IAM (they only see IAM's events where they arrive:
 * us-east-1, or a region they are forwarded to) and the bus policy letting the member accounts
 * (`accountIds`, `organizationId`) forward theirs; `roles` are the rotator's roles' logical ids
 * (the tamper rules watch them); `keyAge` sets the key-age alarm.
 */
function alertResources({
  service,
  stage,
  alertEmail,
  outOfBand,
  keyAdministratorArn,
  roles,
  accountIds,
  targetRoleName,
  organizationId,
  keyAge,
}) {
  const writers = rotatorWriters({ accountIds, targetRoleName });
  const rules = {
    ...tamperRuleResources({ roles, iamRegion: outOfBand, tagWriters: writers }),
  };
  if (outOfBand) {
    rules.OutOfBandChangeRule = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'iam-key-rotator: an access key changed outside a rotation, here or in a member account',
        EventPattern: keyChangePattern(writers),
        Targets: [{ Id: 'alert-topic', Arn: { Ref: 'AlertTopic' }, InputTransformer: OUT_OF_BAND_MESSAGE }],
      },
    };
  }
  const resources = { ...rules };
  const alarmArn = (name) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${name}`,
  });
  const publishers = {
    events: { 'Fn::GetAtt': ['ExecutionFailedRule', 'Arn'] },
    alarms: [
      ...Object.values(ALARMS).map((label) => alarmArn(`${service}-${stage}-${label}-executions-failed`)),
      alarmArn(keyAgeAlarmName(service, stage)),
    ],
  };
  const eventRules = [
    publishers.events,
    { 'Fn::GetAtt': ['PinTamperRule', 'Arn'] },
    ...Object.keys(rules).map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
  ];

  resources.AlertTopicKey = {
    Type: 'AWS::KMS::Key',
    Properties: {
      Description: 'iam-key-rotator: encrypts the alert topic',
      EnableKeyRotation: true,
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AdministerKey',
            Effect: 'Allow',
            Principal: {
              AWS: keyAdministratorArn || { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
            },
            Action: KEY_ADMINISTRATION,
            Resource: '*',
          },
          {
            // SNS encrypts with the publisher's permissions. EventBridge's key requests carry no
            // aws:SourceAccount or aws:SourceArn, so a condition on them would drop every alert;
            // the topic policy is what limits EventBridge to this stack's rules.
            Sid: 'RulesEncrypt',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
            Resource: '*',
          },
          {
            Sid: 'AlarmsEncrypt',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    },
  };
  resources.AlertTopic = {
    Type: 'AWS::SNS::Topic',
    Properties: {
      TopicName: `${service}-${stage}-alerts`,
      DisplayName: 'iam-key-rotator alerts',
      KmsMasterKeyId: { Ref: 'AlertTopicKey' },
      ...(alertEmail ? { Subscription: [{ Protocol: 'email', Endpoint: alertEmail }] } : {}),
    },
  };
  resources.AlertTopicPolicy = {
    Type: 'AWS::SNS::TopicPolicy',
    Properties: {
      Topics: [{ Ref: 'AlertTopic' }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AlertRules',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: 'AlertTopic' },
            Condition: { ArnEquals: { 'aws:SourceArn': eventRules } },
          },
          {
            Sid: 'Alarms',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: 'AlertTopic' },
            Condition: {
              ArnEquals: { 'aws:SourceArn': publishers.alarms },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ],
      },
    },
  };
  resources.ExecutionFailedRule = {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description: 'iam-key-rotator: a rotation or fleet execution failed, timed out or was aborted',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: MACHINES.map((id) => ({ Ref: id })),
        },
      },
      Targets: [{ Id: 'alert-topic', Arn: { Ref: 'AlertTopic' }, InputTransformer: FAILURE_MESSAGE }],
    },
  };
  resources.PinTamperRule = {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description:
        'iam-key-rotator: possible tampering: a rotation stopped on a pin changed outside the rotator',
      EventPattern: tamperPattern(),
      Targets: [{ Id: 'alert-topic', Arn: { Ref: 'AlertTopic' }, InputTransformer: TAMPER_MESSAGE }],
    },
  };
  for (const [id, label] of Object.entries(ALARMS)) {
    resources[id] = failedAlarm(service, stage, MACHINES[label === 'fleet' ? 1 : 0], label);
  }
  Object.assign(resources, keyAgeAlarmResources({ service, stage, ...keyAge }));
  if (outOfBand) {
    Object.assign(resources, memberEventsBusPolicies({ service, stage, accountIds, organizationId }));
  }
  return resources;
}

module.exports = { alertResources, auditedWriters, AUDITED_ACTIONS, MACHINES, TAMPER_PHRASE };
