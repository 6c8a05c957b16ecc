// Member-account events: deploy/target-account.yml's rule forwarding the account's IAM key and
// rotator-tag changes (by anyone but the target role) to the rotator's bus, the rotator's bus policy
// admitting only that rule of the allowed accounts or the Organization, and the rotator's rules
// alerting them with the account named. Patterns run against CloudTrail-shaped events.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { resources } from '../../deploy/template.cjs';
import { TEMPLATE_PATH } from '../../deploy/target-account.cjs';
import { FORWARD_RULE_NAME } from '../../deploy/iam-changes.cjs';
import { type EventPattern, matchesPattern, resolvePattern } from '../support/event-pattern.js';
import { type Resource, templateContext } from './template.js';

const ROTATOR = '111111111111';
const MEMBER = '222222222222';
const OTHER = '333333333333';
const TARGETS = {
  allowedAccountIds: `${MEMBER},${OTHER}`,
  targetExternalId: 'rotator-ext-id',
  vaultPathTemplate: '{prefix}{accountId}/{userName}',
};
const TARGET_ROLE = (account: string) => `arn:aws:iam::${account}:role/iam-key-rotator-target`;
const ROTATOR_ROLE = (id: string) => `arn:aws:iam::${ROTATOR}:role/iam-key-rotator-dev-${id}`;

interface Template {
  Parameters: Record<string, { Type: string; AllowedPattern?: string; Default?: string }>;
  Rules: Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>;
  Resources: Record<string, Resource & { Properties: Record<string, unknown> }>;
}
interface Rule {
  Name?: string;
  EventPattern: unknown;
  Targets: {
    Id: string;
    Arn: unknown;
    RoleArn?: unknown;
    InputTransformer?: { InputPathsMap: Record<string, string>; InputTemplate: string };
  }[];
}

const member = async () => parse(await readFile(TEMPLATE_PATH, 'utf8')) as Template;
const build = async (params: Record<string, unknown> = {}, region = 'us-east-1') =>
  (await resources(templateContext(params, region))).Resources as Record<string, Resource>;
const ruleOf = (r: Record<string, Resource>, id: string) => r[id]?.Properties as unknown as Rule;

/** Fn::Sub strings with the partition and no variable map filled in, as CloudFormation would. */
function substituted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(substituted);
  if (value && typeof value === 'object') {
    const sub = (value as Record<string, unknown>)['Fn::Sub'];
    if (typeof sub === 'string')
      return sub.replace('${AWS::Partition}', 'aws').replace('${AWS::AccountId}', ROTATOR);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituted(v)]));
  }
  return value;
}

/** An IAM call as CloudTrail hands it to EventBridge, from `account`, by `identity`. */
function iamCall(
  eventName: string,
  identity: Record<string, unknown>,
  requestParameters: Record<string, unknown> = { userName: 'ci', accessKeyId: 'AKIAEXAMPLE' },
  account = MEMBER,
) {
  return {
    version: '0',
    account,
    region: 'us-east-1',
    source: 'aws.iam',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: {
      eventSource: 'iam.amazonaws.com',
      eventName,
      eventTime: '2025-01-01T00:00:00Z',
      eventID: 'e1',
      sourceIPAddress: '203.0.113.9',
      requestParameters,
      userIdentity: identity,
    },
  };
}
const assumed = (arn: string) => ({
  type: 'AssumedRole',
  arn: `${arn}/session`,
  sessionContext: { sessionIssuer: { arn } },
});
const iamUser = { type: 'IAMUser', arn: `arn:aws:iam::${MEMBER}:user/admin` };

describe('the member account’s forwarding rule (deploy/target-account.yml)', () => {
  const forwardPattern = async () =>
    resolvePattern((await member()).Resources.ForwardIamChangesRule?.Properties.EventPattern, {
      TargetRole: TARGET_ROLE(MEMBER),
    });

  it('forwards key changes and rotator-tag changes made by a user or a role other than the target role', async () => {
    const pattern = await forwardPattern();
    for (const event of ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey']) {
      expect(matchesPattern(pattern, iamCall(event, iamUser)), event).toBe(true);
      expect(
        matchesPattern(pattern, iamCall(event, assumed(`arn:aws:iam::${MEMBER}:role/Admin`))),
        event,
      ).toBe(true);
    }
    const tag = { userName: 'ci', tags: [{ key: 'iam-key-rotator:vault-path', value: 'x' }] };
    expect(matchesPattern(pattern, iamCall('TagUser', iamUser, tag))).toBe(true);
    const untag = { userName: 'ci', tagKeys: ['team', 'iam-key-rotator:claim'] };
    expect(matchesPattern(pattern, iamCall('UntagUser', iamUser, untag))).toBe(true);
  });

  it('does not forward the target role’s own calls, other tags, or other IAM calls', async () => {
    const pattern = await forwardPattern();
    expect(matchesPattern(pattern, iamCall('CreateAccessKey', assumed(TARGET_ROLE(MEMBER))))).toBe(false);
    const rotatorTag = { userName: 'ci', tags: [{ key: 'iam-key-rotator:vault-path', value: 'x' }] };
    expect(matchesPattern(pattern, iamCall('TagUser', assumed(TARGET_ROLE(MEMBER)), rotatorTag))).toBe(false);
    expect(
      matchesPattern(
        pattern,
        iamCall('TagUser', iamUser, { userName: 'ci', tags: [{ key: 'team', value: 'a' }] }),
      ),
    ).toBe(false);
    expect(matchesPattern(pattern, iamCall('CreateUser', iamUser))).toBe(false);
  });

  it('targets the rotator’s bus (a parameter fed from the rotator’s output) through a role that may only put events there', async () => {
    const template = await member();
    const rule = template.Resources.ForwardIamChangesRule?.Properties as unknown as Rule;
    expect(rule.Name).toBe(FORWARD_RULE_NAME);
    expect(rule.Targets).toEqual([
      {
        Id: 'rotator-event-bus',
        Arn: { Ref: 'RotatorEventBusArn' },
        RoleArn: { 'Fn::GetAtt': ['ForwardIamChangesRole', 'Arn'] },
      },
    ]);
    const role = template.Resources.ForwardIamChangesRole?.Properties as {
      AssumeRolePolicyDocument: { Statement: unknown[] };
      Policies: { PolicyDocument: { Statement: unknown[] } }[];
      ManagedPolicyArns?: unknown;
    };
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies.flatMap((p) => p.PolicyDocument.Statement)).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: { Ref: 'RotatorEventBusArn' } },
    ]);
    // EventBridge assumes it for this account's forwarding rule only.
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { 'Fn::Sub': '${AWS::AccountId}' } },
          ArnEquals: {
            'aws:SourceArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${FORWARD_RULE_NAME}`,
            },
          },
        },
      },
    ]);
    const bus = new RegExp(template.Parameters.RotatorEventBusArn?.AllowedPattern ?? '');
    expect(bus.test(`arn:aws:events:us-east-1:${ROTATOR}:event-bus/default`)).toBe(true);
    expect(bus.test(`arn:aws:events:us-east-1:${ROTATOR}:event-bus/other`)).toBe(false);
    expect(bus.test(`arn:aws:sns:us-east-1:${ROTATOR}:topic`)).toBe(false);
  });

  it('refuses to deploy anywhere but us-east-1, where IAM’s events arrive', async () => {
    const { Rules } = await member();
    expect(Rules.IamEventsRegion?.Assertions).toEqual([
      {
        Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
        AssertDescription: expect.stringContaining('us-east-1') as unknown,
      },
    ]);
  });
});

describe('the rotator’s bus policy (deploy/iam-changes.cjs)', () => {
  const forwardRule = (account: string) => `arn:aws:events:us-east-1:${account}:rule/${FORWARD_RULE_NAME}`;

  it('admits the allowed accounts’ forwarding rule, and nothing else, on the default bus', async () => {
    const r = await build(TARGETS);
    const policy = r.MemberAccountsForwardIamChanges;
    expect(policy?.Type).toBe('AWS::Events::EventBusPolicy');
    expect(substituted(policy?.Properties)).toEqual({
      EventBusName: 'default',
      StatementId: 'iam-key-rotator-dev-member-accounts',
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: [`arn:aws:iam::${MEMBER}:root`, `arn:aws:iam::${OTHER}:root`] },
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:\${AWS::Region}:${ROTATOR}:event-bus/default`,
        Condition: { ArnEquals: { 'aws:SourceArn': [forwardRule(MEMBER), forwardRule(OTHER)] } },
      },
    });
    expect(r.OrganizationForwardsIamChanges).toBeUndefined();
  });

  it('admits the Organization’s accounts’ forwarding rule with organizationId', async () => {
    const r = await build({ organizationId: 'o-abcdefghij' });
    expect(r.MemberAccountsForwardIamChanges).toBeUndefined();
    expect(substituted(r.OrganizationForwardsIamChanges?.Properties)).toEqual({
      EventBusName: 'default',
      StatementId: 'iam-key-rotator-dev-organization',
      Statement: {
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:\${AWS::Region}:${ROTATOR}:event-bus/default`,
        Condition: {
          StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' },
          ArnLike: { 'aws:SourceArn': forwardRule('*') },
        },
      },
    });
  });

  it('opens the bus to no other account by default, and only where the out-of-band rule is', async () => {
    const policies = (r: Record<string, Resource>) =>
      Object.keys(r).filter((id) => r[id]?.Type === 'AWS::Events::EventBusPolicy');
    expect(policies(await build())).toEqual([]);
    expect(policies(await build(TARGETS, 'eu-west-1'))).toEqual([]);
    expect(policies(await build({ ...TARGETS, outOfBandAlerts: 'true' }, 'eu-west-1'))).toEqual([
      'MemberAccountsForwardIamChanges',
    ]);
  });

  it('outputs the bus for the member template’s RotatorEventBusArn where the out-of-band rule is', async () => {
    const { Outputs } = await resources(templateContext({}));
    expect(Outputs.RotatorEventBusArn?.Value).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default',
    });
    expect((await member()).Parameters).toHaveProperty('RotatorEventBusArn');
    const elsewhere = await resources(templateContext({}, 'eu-west-1'));
    expect(elsewhere.Outputs.RotatorEventBusArn).toBeUndefined();
  });

  it.each([
    ['o-short', "organizationId 'o-short' is not an Organization id"],
    ['123456789012', "organizationId '123456789012' is not an Organization id"],
  ])('refuses organizationId %s at package time', async (organizationId, message) => {
    await expect(build({ organizationId })).rejects.toThrow(message);
  });
});

describe('the rotator’s out-of-band rule on forwarded events', () => {
  const pattern = async () => {
    const r = await build(TARGETS);
    const arns = Object.fromEntries(
      Object.keys(r)
        .filter((id) => r[id]?.Type === 'AWS::IAM::Role')
        .map((id) => [id, ROTATOR_ROLE(id)]),
    );
    return resolvePattern(substituted(ruleOf(r, 'OutOfBandChangeRule').EventPattern), arns) as EventPattern;
  };

  it('alerts a key change in a member account, and never the target role’s or the rotator’s own', async () => {
    const p = await pattern();
    expect(matchesPattern(p, iamCall('CreateAccessKey', iamUser))).toBe(true);
    expect(
      matchesPattern(
        p,
        iamCall('DeleteAccessKey', assumed(`arn:aws:iam::${OTHER}:role/Admin`), undefined, OTHER),
      ),
    ).toBe(true);
    // Belt and braces: the member rule leaves the target role out already.
    expect(matchesPattern(p, iamCall('CreateAccessKey', assumed(TARGET_ROLE(MEMBER))))).toBe(false);
    expect(
      matchesPattern(
        p,
        iamCall('CreateAccessKey', assumed(ROTATOR_ROLE('CreateKeyRole')), undefined, ROTATOR),
      ),
    ).toBe(false);
  });

  it('names the account, the user, the caller and what to do', async () => {
    const r = await build(TARGETS);
    const [target] = ruleOf(r, 'OutOfBandChangeRule').Targets;
    const { InputPathsMap, InputTemplate } = target?.InputTransformer ?? {
      InputPathsMap: {},
      InputTemplate: '',
    };
    expect(InputPathsMap).toMatchObject({
      account: '$.account',
      user: '$.detail.requestParameters.userName',
      actor: '$.detail.userIdentity.arn',
      eventId: '$.detail.eventID',
    });
    expect(InputTemplate).toContain('in account <account>');
    expect(InputTemplate).toContain('What to do');
    for (const [, name] of InputTemplate.matchAll(/<(\w+)>/g))
      expect(InputPathsMap).toHaveProperty(name ?? '');
    // Every line is one JSON string: EventBridge sends the lines as text.
    for (const line of InputTemplate.split('\n')) expect(typeof JSON.parse(line)).toBe('string');
  });
});
