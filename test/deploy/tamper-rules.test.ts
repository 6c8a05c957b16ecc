// The tamper rules (deploy/tamper-rules.cjs): each pattern against CloudTrail-shaped events of the
// rotator's keys, roles, state machines, fleet bucket and user tags, each target the alert topic
// with a message naming what changed, who, where and what to do, and each in the region where its
// service's events arrive.
import { describe, expect, it } from 'vitest';
import {
  BUCKET_EVENTS,
  KEY_EVENTS,
  MACHINE_EVENTS,
  ROLE_EVENTS,
  TRUSTED_KEYS,
} from '../../deploy/tamper-rules.cjs';
import { resources } from '../../deploy/template.cjs';
import { type EventPattern, matchesPattern, resolvePattern } from '../support/event-pattern.js';
import { type Resource, templateContext } from './template.js';

const ACCOUNT = '123456789012';
const arnOf = (id: string) => {
  if (id.endsWith('StateMachine')) return `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${id}`;
  if (id.endsWith('Key')) return `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`;
  if (id === 'FleetBucket') return 'iam-key-rotator-dev-fleetbucket-abc';
  // A role's Ref is its name, as CloudTrail names it; its ARN is only excluded from the tag rule.
  return id;
};

async function build(params: Record<string, unknown> = {}, region = 'us-east-1') {
  return (await resources(templateContext(params, region))).Resources as Record<string, Resource>;
}

interface Rule {
  Description: string;
  EventPattern: unknown;
  Targets: {
    Id: string;
    Arn: unknown;
    InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
  }[];
}
const ruleOf = (r: Record<string, Resource>, id: string) => r[id]?.Properties as unknown as Rule;
const patternOf = (r: Record<string, Resource>, id: string): EventPattern =>
  resolvePattern(
    ruleOf(r, id).EventPattern,
    // The state machines are the plugin's: not among deploy/template.cjs's resources.
    Object.fromEntries(
      [...Object.keys(r), 'RotateAccessKeyStateMachine', 'RotateFleetStateMachine'].map((k) => [k, arnOf(k)]),
    ),
  );

/** An API call as CloudTrail hands it to EventBridge. */
function call(service: string, eventName: string, detail: Record<string, unknown>, errorCode?: string) {
  return {
    version: '0',
    account: ACCOUNT,
    region: 'us-east-1',
    source: `aws.${service}`,
    'detail-type': 'AWS API Call via CloudTrail',
    detail: {
      eventSource: `${service}.amazonaws.com`,
      eventName,
      eventTime: '2025-01-01T00:00:00Z',
      eventID: 'e1',
      sourceIPAddress: '203.0.113.9',
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/admin` },
      ...(errorCode ? { errorCode } : {}),
      ...detail,
    },
  };
}
const keyCall = (eventName: string, id: string, errorCode?: string) =>
  call(
    'kms',
    eventName,
    {
      requestParameters: { keyId: arnOf(id) },
      resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arnOf(id) }],
    },
    errorCode,
  );

const TAMPER_RULES = [
  'KeyTamperRule',
  'StateMachineTamperRule',
  'FleetBucketTamperRule',
  'RoleTamperRule',
  'RotatorTagTamperRule',
];

describe('the tamper rules', () => {
  it('watches the sealing key, the pin and claim MAC keys, the fleet bucket key and the alert topic key', async () => {
    const r = await build();
    expect(TRUSTED_KEYS).toEqual([
      'SecretSealingKey',
      'PinSigningKey',
      'ClaimSigningKey',
      'FleetBucketKey',
      'AlertTopicKey',
    ]);
    for (const id of TRUSTED_KEYS) expect(r[id]?.Type, id).toBe('AWS::KMS::Key');
    const pattern = patternOf(r, 'KeyTamperRule');
    expect(KEY_EVENTS).toEqual(['PutKeyPolicy', 'CreateGrant', 'ScheduleKeyDeletion', 'DisableKey']);
    for (const id of TRUSTED_KEYS) {
      for (const event of KEY_EVENTS)
        expect(matchesPattern(pattern, keyCall(event, id)), `${event} ${id}`).toBe(true);
    }
  });

  it('alerts a refused attempt too, named by its request alone', async () => {
    const pattern = patternOf(await build(), 'KeyTamperRule');
    const refused = call(
      'kms',
      'CreateGrant',
      { requestParameters: { keyId: arnOf('SecretSealingKey') } },
      'AccessDenied',
    );
    expect(matchesPattern(pattern, refused)).toBe(true);
  });

  it('ignores another key, and reads of the rotator’s keys', async () => {
    const pattern = patternOf(await build(), 'KeyTamperRule');
    const other = call('kms', 'PutKeyPolicy', {
      requestParameters: { keyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/other` },
      resources: [{ ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/other` }],
    });
    expect(matchesPattern(pattern, other)).toBe(false);
    expect(matchesPattern(pattern, keyCall('Decrypt', 'SecretSealingKey'))).toBe(false);
    expect(matchesPattern(pattern, keyCall('EnableKeyRotation', 'SecretSealingKey'))).toBe(false);
  });

  it('watches every role of the rotator: the functions’, the state machines’ and the HTTP trigger’s', async () => {
    const r = await build({ httpTrigger: 'true' });
    const pattern = patternOf(r, 'RoleTamperRule');
    const roles = Object.keys(r).filter((id) => r[id]?.Type === 'AWS::IAM::Role');
    expect(roles).toEqual(
      expect.arrayContaining([
        'CreateKeyRole',
        'StateMachineRole',
        'FleetStateMachineRole',
        'HttpTriggerRole',
      ]),
    );
    expect(ROLE_EVENTS).toEqual([
      'PutRolePolicy',
      'AttachRolePolicy',
      'UpdateAssumeRolePolicy',
      'DeleteRolePolicy',
      'DetachRolePolicy',
    ]);
    for (const role of roles) {
      for (const event of ROLE_EVENTS) {
        const event_ = call('iam', event, { requestParameters: { roleName: role, policyName: 'x' } });
        expect(matchesPattern(pattern, event_), `${event} ${role}`).toBe(true);
      }
    }
    expect(
      matchesPattern(
        pattern,
        call('iam', 'PutRolePolicy', { requestParameters: { roleName: 'SomeoneElsesRole' } }),
      ),
    ).toBe(false);
    expect(
      matchesPattern(pattern, call('iam', 'GetRole', { requestParameters: { roleName: 'CreateKeyRole' } })),
    ).toBe(false);
  });

  it('watches both state machines’ updates and deletions', async () => {
    const pattern = patternOf(await build(), 'StateMachineTamperRule');
    for (const machine of ['RotateAccessKeyStateMachine', 'RotateFleetStateMachine']) {
      for (const event of MACHINE_EVENTS) {
        const e = call('states', event, { requestParameters: { stateMachineArn: arnOf(machine) } });
        expect(matchesPattern(pattern, e), `${event} ${machine}`).toBe(true);
      }
      const started = call('states', 'StartExecution', {
        requestParameters: { stateMachineArn: arnOf(machine) },
      });
      expect(matchesPattern(pattern, started)).toBe(false);
    }
    const other = call('states', 'DeleteStateMachine', {
      requestParameters: { stateMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:other` },
    });
    expect(matchesPattern(pattern, other)).toBe(false);
  });

  it('watches the fleet bucket’s policy, public access block and encryption, not its objects or another bucket', async () => {
    const pattern = patternOf(await build(), 'FleetBucketTamperRule');
    expect(BUCKET_EVENTS).toEqual(expect.arrayContaining(['PutBucketPolicy', 'DeleteBucketPolicy']));
    for (const event of BUCKET_EVENTS) {
      const e = call('s3', event, { requestParameters: { bucketName: arnOf('FleetBucket') } });
      expect(matchesPattern(pattern, e), event).toBe(true);
    }
    expect(
      matchesPattern(pattern, call('s3', 'PutBucketPolicy', { requestParameters: { bucketName: 'other' } })),
    ).toBe(false);
    expect(
      matchesPattern(
        pattern,
        call('s3', 'PutObject', { requestParameters: { bucketName: arnOf('FleetBucket') } }),
      ),
    ).toBe(false);
  });

  it('alerts each to the topic with what changed, who, which account and region, and what to do', async () => {
    const r = await build();
    for (const id of TAMPER_RULES) {
      const { Targets, Description } = ruleOf(r, id);
      expect(Description, id).toMatch(/^iam-key-rotator: possible tampering: /);
      expect(Targets, id).toHaveLength(1);
      const [target] = Targets;
      expect(target?.Arn).toEqual({ Ref: 'AlertTopic' });
      const { InputPathsMap, InputTemplate } = target?.InputTransformer ?? {
        InputPathsMap: {},
        InputTemplate: '',
      };
      expect(InputTemplate, id).toMatch(/^"iam-key-rotator: POSSIBLE TAMPERING: <event> /);
      for (const placeholder of ['<actor>', '<account>', '<region>', '<time>', '<eventId>', '<refused>']) {
        expect(InputTemplate, `${id} ${placeholder}`).toContain(placeholder);
      }
      expect(InputTemplate, id).toContain('What to do');
      expect(InputPathsMap).toMatchObject({
        account: '$.account',
        region: '$.region',
        actor: '$.detail.userIdentity.arn',
        refused: '$.detail.errorCode',
      });
      for (const [, name] of InputTemplate.matchAll(/<(\w+)>/g))
        expect(InputPathsMap, id).toHaveProperty(name ?? '');
      for (const line of InputTemplate.split('\n')) expect(typeof JSON.parse(line)).toBe('string');
      expect(InputTemplate.length).toBeLessThanOrEqual(8192);
    }
  });

  it('may each publish to the alert topic', async () => {
    const r = await build();
    const policy = r.AlertTopicPolicy?.Properties.PolicyDocument as {
      Statement: { Sid: string; Condition: { ArnEquals: { 'aws:SourceArn': unknown[] } } }[];
    };
    const sources = policy.Statement.find((s) => s.Sid === 'AlertRules')?.Condition.ArnEquals[
      'aws:SourceArn'
    ];
    for (const id of TAMPER_RULES) expect(sources).toContainEqual({ 'Fn::GetAtt': [id, 'Arn'] });
  });

  it('lives where each service’s events arrive: keys, machines and bucket in every region, roles and tags with IAM’s', async () => {
    const present = (r: Record<string, Resource>) => TAMPER_RULES.filter((id) => r[id]);
    expect(present(await build())).toEqual(TAMPER_RULES);
    expect(present(await build({}, 'eu-west-1'))).toEqual([
      'KeyTamperRule',
      'StateMachineTamperRule',
      'FleetBucketTamperRule',
    ]);
    expect(present(await build({ outOfBandAlerts: 'true' }, 'eu-west-1'))).toEqual(TAMPER_RULES);
  });
});
