// The IAM calls that change a user's access keys or the rotator's tags, as CloudTrail hands them to
// EventBridge: the patterns of the rotator's out-of-band and tag rules (deploy/alerts.cjs) and of
// the rule forwarding the same calls from each member account (deploy/target-account.yml), and the
// rotator's bus policy letting that rule, and no other, forward them.
// CloudTrail delivers IAM's events to EventBridge in us-east-1 only: every rule here lives there.
'use strict';

const { ROTATOR_TAG_KEYS } = require('./policies.cjs');

/** The IAM calls that change a user's keys or the rotator's tags. */
const KEY_EVENTS = ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey'];
const TAG_EVENTS = ['TagUser', 'UntagUser'];
const AUDITED_ACTIONS = [...KEY_EVENTS, ...TAG_EVENTS].map((name) => `iam:${name}`);

/** Every tag the rotator writes or reads starts with this. */
const TAG_PREFIX = `${ROTATOR_TAG_KEYS[0].split(':')[0]}:`;

/** Where IAM's CloudTrail events reach EventBridge (a global service's events go to us-east-1). */
const IAM_EVENTS_REGION = 'us-east-1';

/** The member-account rule's name: the rotator's bus policy admits events forwarded by it only. */
const FORWARD_RULE_NAME = 'iam-key-rotator-forward-iam-changes';

const KEY_CHANGES = { eventName: KEY_EVENTS };
const TAG_CHANGES = [
  { eventName: ['TagUser'], requestParameters: { tags: { key: [{ prefix: TAG_PREFIX }] } } },
  { eventName: ['UntagUser'], requestParameters: { tagKeys: [{ prefix: TAG_PREFIX }] } },
];

/**
 * CloudTrail's IAM events for `changes` made by an identity that is not an assumed role (a user,
 * root, a federated user) or by a role other than `roles` (ARNs). An event names the user but never
 * its path: every user of the account is covered.
 */
function iamPattern(changes, roles) {
  return {
    source: ['aws.iam'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['iam.amazonaws.com'],
      ...changes,
      userIdentity: {
        $or: [
          { type: [{ 'anything-but': 'AssumedRole' }] },
          { sessionContext: { sessionIssuer: { arn: [{ 'anything-but': roles }] } } },
        ],
      },
    },
  };
}

/** Access key changes by anyone but `roles`. */
const keyChangePattern = (roles) => iamPattern(KEY_CHANGES, roles);
/** Changes of the rotator's tags by anyone but `roles`. */
const tagChangePattern = (roles) => iamPattern({ $or: TAG_CHANGES }, roles);
/** Both, as a member account forwards them. */
const iamChangePattern = (roles) => iamPattern({ $or: [KEY_CHANGES, ...TAG_CHANGES] }, roles);

/** The forwarding rule's ARN in `account` (`*`: any), as the bus policy names it. */
const forwardRuleArn = (account) =>
  `arn:\${AWS::Partition}:events:${IAM_EVENTS_REGION}:${account}:rule/${FORWARD_RULE_NAME}`;

/** The default event bus of the rotator's account and region, where member accounts forward to. */
const DEFAULT_BUS = 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default';

/**
 * The statements added to the rotator's default event bus policy: the allowed accounts, each
 * through its own forwarding rule, and the Organization's accounts through theirs. None: no
 * statement, so no other account may put events on the bus.
 */
function memberEventsBusPolicies({ service, stage, accountIds, organizationId }) {
  const resources = {};
  const statement = (id, principal, condition) => ({
    Type: 'AWS::Events::EventBusPolicy',
    Properties: {
      EventBusName: 'default',
      // Unique on the account's bus: one stage's statements never replace another's.
      StatementId: `${service}-${stage}-${id}`,
      Statement: {
        Effect: 'Allow',
        Principal: principal,
        Action: 'events:PutEvents',
        Resource: { 'Fn::Sub': DEFAULT_BUS },
        Condition: condition,
      },
    },
  });
  if (accountIds.length > 0) {
    resources.MemberAccountsForwardIamChanges = statement(
      'member-accounts',
      { AWS: accountIds.map((id) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${id}:root` })) },
      { ArnEquals: { 'aws:SourceArn': accountIds.map((id) => ({ 'Fn::Sub': forwardRuleArn(id) })) } },
    );
  }
  if (organizationId) {
    resources.OrganizationForwardsIamChanges = statement('organization', '*', {
      StringEquals: { 'aws:PrincipalOrgID': organizationId },
      ArnLike: { 'aws:SourceArn': { 'Fn::Sub': forwardRuleArn('*') } },
    });
  }
  return resources;
}

module.exports = {
  AUDITED_ACTIONS,
  DEFAULT_BUS,
  FORWARD_RULE_NAME,
  IAM_EVENTS_REGION,
  KEY_EVENTS,
  TAG_EVENTS,
  TAG_PREFIX,
  iamChangePattern,
  keyChangePattern,
  memberEventsBusPolicies,
  tagChangePattern,
};
