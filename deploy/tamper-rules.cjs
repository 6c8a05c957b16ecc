// The tamper rules: CloudTrail's record of a change to what the rotator trusts, each alerted to the
// alert topic with what changed, who, where and what to do. KMS, Step Functions and S3 deliver
// their events to EventBridge in the region of the resource (the stack's); IAM in us-east-1 only,
// so the rules on the roles and the rotator's tags exist where the out-of-band rule does.
'use strict';

const { tagChangePattern } = require('./iam-changes.cjs');

/** The KMS keys the rotator's promises rest on: sealing, pin and claim MACs, fleet bucket, alerts. */
const TRUSTED_KEYS = [
  'SecretSealingKey',
  'PinSigningKey',
  'ClaimSigningKey',
  'FleetBucketKey',
  'AlertTopicKey',
];
const KEY_EVENTS = ['PutKeyPolicy', 'CreateGrant', 'ScheduleKeyDeletion', 'DisableKey'];
const ROLE_EVENTS = [
  'PutRolePolicy',
  'AttachRolePolicy',
  'UpdateAssumeRolePolicy',
  'DeleteRolePolicy',
  'DetachRolePolicy',
];
const MACHINES = ['RotateAccessKeyStateMachine', 'RotateFleetStateMachine'];
const MACHINE_EVENTS = ['UpdateStateMachine', 'DeleteStateMachine'];
const BUCKET_EVENTS = [
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketPublicAccessBlock',
  'DeleteBucketPublicAccessBlock',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
];

/** A CloudTrail API call event of `service` for `events`, with `detail` narrowing it. */
const callPattern = (service, events, detail) => ({
  source: [`aws.${service}`],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: { eventSource: [`${service}.amazonaws.com`], eventName: events, ...detail },
});

/** What every tamper message names: the call, who made it, from where, and whether it was refused. */
const CALL_PATHS = {
  event: '$.detail.eventName',
  actor: '$.detail.userIdentity.arn',
  via: '$.detail.sourceIPAddress',
  account: '$.account',
  region: '$.region',
  time: '$.detail.eventTime',
  refused: '$.detail.errorCode',
  eventId: '$.detail.eventID',
};

const WHO = '"By <actor> at <time>, from <via>. Refused with: <refused> (nothing here: it succeeded)."';
const DEPLOYMENT =
  'A deployment of the rotator makes such calls too (from cloudformation.amazonaws.com): if you deployed it then, nothing to do.';
const FIND = '"Find who and why in CloudTrail: event id <eventId>, in account <account>, region <region>."';

/** An input transformer: the message lines (each a JSON string) with their placeholders' paths. */
const message = (paths, lines) => ({
  InputPathsMap: { ...CALL_PATHS, ...paths },
  InputTemplate: [...lines, WHO, FIND].join('\n'),
});

const KEY_MESSAGE = message({ key: '$.detail.requestParameters.keyId' }, [
  '"iam-key-rotator: POSSIBLE TAMPERING: <event> on the rotator\'s KMS key <key> (account <account>, region <region>)."',
  '"Whoever may change this key\'s policy or grants can lift its Deny: read the sealed copies of new keys still in Step Functions history (the sealing key), forge the pins and claims the rotator trusts (the MAC keys), read the fleet\'s lists (the bucket key) or silence these alerts (the alert topic key). A disabled or deleted key stops every rotation."',
  `"What to do: compare the key policy with the stack's (aws kms get-key-policy --key-id <key> --policy-name default), list its grants (aws kms list-grants), cancel a deletion (aws kms cancel-key-deletion) or re-enable the key (aws kms enable-key). ${DEPLOYMENT}"`,
]);

const ROLE_MESSAGE = message(
  {
    role: '$.detail.requestParameters.roleName',
    policyName: '$.detail.requestParameters.policyName',
    policyArn: '$.detail.requestParameters.policyArn',
  },
  [
    '"iam-key-rotator: POSSIBLE TAMPERING: <event> on the rotator\'s role <role> (policy <policyName><policyArn>; account <account>)."',
    '"The rotator\'s roles are what may create, delete and seal access keys, sign pins and start rotations: a policy added to one, or a trust policy widened, hands that power to someone else."',
    `"What to do: compare the role's policies and trust policy with the stack's (aws iam list-role-policies, list-attached-role-policies, get-role --role-name <role>); CloudFormation drift detection shows the difference. ${DEPLOYMENT}"`,
  ],
);

const MACHINE_MESSAGE = message({ machine: '$.detail.requestParameters.stateMachineArn' }, [
  '"iam-key-rotator: POSSIBLE TAMPERING: <event> on the state machine <machine> (account <account>, region <region>)."',
  '"The state machine decides when a key is created, stored, verified and retired: a changed definition or role can skip those checks; a deleted one stops every rotation."',
  `"What to do: compare its definition and role with the stack's (aws stepfunctions describe-state-machine --state-machine-arn <machine>; CloudFormation drift detection); redeploy the stack to restore it. ${DEPLOYMENT}"`,
]);

const BUCKET_MESSAGE = message({ bucket: '$.detail.requestParameters.bucketName' }, [
  '"iam-key-rotator: POSSIBLE TAMPERING: <event> on the fleet bucket <bucket> (account <account>, region <region>)."',
  '"The fleet bucket holds each fleet run\'s lists of due users and their results; its policy lets the fleet\'s roles alone read and write them."',
  `"What to do: compare the bucket's policy, public access block and encryption with the stack's (aws s3api get-bucket-policy --bucket <bucket>; CloudFormation drift detection); redeploy the stack to restore them. ${DEPLOYMENT}"`,
]);

const TAG_MESSAGE = message({ user: '$.detail.requestParameters.userName' }, [
  '"iam-key-rotator: POSSIBLE TAMPERING: <event> of an iam-key-rotator:* tag on the IAM user <user> in account <account>, outside a rotation."',
  "\"The rotator's tags pin where a user's key is served and claim its rotations; they are signed, so a forged one stops the user's next rotation (alerted too), but whoever wrote it may also control the user. The opt-in tag (iam-key-rotator:rotate) is yours to set: if you opted the user in or out, nothing to do.\"",
  '"What to do otherwise: look at the user\'s tags (aws iam list-user-tags --user-name <user>); if a pin or claim tag was rewritten, remove both pin tags and rotate the user with the vaultPath its consumers read."',
]);

const rule = (description, pattern, transformer) => ({
  Type: 'AWS::Events::Rule',
  Properties: {
    Description: `iam-key-rotator: possible tampering: ${description}`,
    EventPattern: pattern,
    Targets: [{ Id: 'alert-topic', Arn: { Ref: 'AlertTopic' }, InputTransformer: transformer }],
  },
});

/**
 * The tamper rules. `roles`: the logical ids of the rotator's roles (functions', state machines',
 * the HTTP trigger's); `iamRegion`: whether IAM's events arrive here (the rules on roles and tags
 * are then added); `tagWriters`: the roles that write the rotator's tags (ARN values).
 */
function tamperRuleResources({ roles, iamRegion, tagWriters }) {
  const arn = (id) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  const resources = {
    KeyTamperRule: rule(
      "a change to a KMS key's policy, grants or state",
      callPattern('kms', KEY_EVENTS, {
        // Either names the key: CloudTrail's resources carry its ARN; a refused call may carry only the request.
        $or: [
          { resources: { ARN: TRUSTED_KEYS.map(arn) } },
          { requestParameters: { keyId: TRUSTED_KEYS.flatMap((id) => [{ Ref: id }, arn(id)]) } },
        ],
      }),
      KEY_MESSAGE,
    ),
    StateMachineTamperRule: rule(
      'a state machine updated or deleted',
      callPattern('states', MACHINE_EVENTS, {
        requestParameters: { stateMachineArn: MACHINES.map((id) => ({ Ref: id })) },
      }),
      MACHINE_MESSAGE,
    ),
    FleetBucketTamperRule: rule(
      "a change to the fleet bucket's policy, public access block or encryption",
      callPattern('s3', BUCKET_EVENTS, { requestParameters: { bucketName: [{ Ref: 'FleetBucket' }] } }),
      BUCKET_MESSAGE,
    ),
  };
  if (iamRegion) {
    resources.RoleTamperRule = rule(
      "a change to a rotator role's policies or trust",
      callPattern('iam', ROLE_EVENTS, { requestParameters: { roleName: roles.map((id) => ({ Ref: id })) } }),
      ROLE_MESSAGE,
    );
    resources.RotatorTagTamperRule = rule(
      "the rotator's tags on a user written by someone else",
      tagChangePattern(tagWriters),
      TAG_MESSAGE,
    );
  }
  return resources;
}

module.exports = {
  BUCKET_EVENTS,
  KEY_EVENTS,
  MACHINE_EVENTS,
  ROLE_EVENTS,
  TRUSTED_KEYS,
  tamperRuleResources,
};
