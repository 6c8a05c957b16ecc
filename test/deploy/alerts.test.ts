// The tamper alert (deploy/alerts.cjs PinTamperRule), and the alert rules' patterns run against
// events shaped as Step Functions and CloudTrail send them, through test/support/event-pattern.ts.
import { describe, expect, it } from 'vitest';
import { TAMPER_PHRASE } from '../../deploy/policies.cjs';
import { TAMPER_PHRASE as RAISED_PHRASE } from '../../functions/commons/pin.js';
import { resources } from '../../deploy/template.cjs';
import { matchesPattern, resolvePattern } from '../support/event-pattern.js';
import { type Resource, templateContext } from './template.js';

const ROTATION = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-key-rotator-dev';
const FLEET = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-key-rotator-fleet-dev';
const ROLE = (id: string) => `arn:aws:iam::123456789012:role/iam-key-rotator-dev-${id}`;

async function build() {
  const { Resources } = await resources(templateContext({}));
  return Resources as Record<string, Resource>;
}

interface Rule {
  EventPattern: unknown;
  Targets: {
    Arn: unknown;
    InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
  }[];
}

/** A rule's pattern with the template's references filled in as CloudFormation would. */
const patternOf = (r: Record<string, Resource>, id: string) =>
  resolvePattern((r[id]?.Properties as unknown as Rule).EventPattern, {
    RotateAccessKeyStateMachine: ROTATION,
    RotateFleetStateMachine: FLEET,
    ...Object.fromEntries(
      Object.keys(r)
        .filter((k) => k.endsWith('Role'))
        .map((k) => [k, ROLE(k)]),
    ),
  });

/** An execution status change as Step Functions sends it to EventBridge. */
const statusChange = (detail: Record<string, unknown>) => ({
  version: '0',
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  region: 'us-east-1',
  detail: {
    executionArn: `${ROTATION.replace(':stateMachine:', ':execution:')}:ci-20250101T000000Z`,
    stateMachineArn: ROTATION,
    name: 'ci-20250101T000000Z',
    status: 'FAILED',
    error: 'InvalidInputError',
    cause: null,
    ...detail,
  },
});

/** The cause of a Fail state that took the Lambda error, as the rotation machine ends a tampered pin. */
const tamperedCause = JSON.stringify({
  errorType: 'InvalidInputError',
  errorMessage: `the pin of ci was ${TAMPER_PHRASE}: iam-key-rotator:vault-path-mac does not verify`,
});

describe('the tamper alert (PinTamperRule)', () => {
  it('is the phrase the functions end a tampered pin with', () => {
    expect(TAMPER_PHRASE).toBe('changed outside the rotator');
    // The phrase createKey and listCandidates put in the error is the one the rule matches.
    expect(RAISED_PHRASE).toBe(TAMPER_PHRASE);
  });

  it('matches a failed rotation whose cause says its pin was changed outside the rotator', async () => {
    const pattern = patternOf(await build(), 'PinTamperRule');
    expect(matchesPattern(pattern, statusChange({ cause: tamperedCause }))).toBe(true);
    expect(matchesPattern(pattern, statusChange({ cause: `the pin of ci was ${TAMPER_PHRASE}` }))).toBe(true);
  });

  it('matches a failed fleet whose cause names a user not started for a tampered pin', async () => {
    const pattern = patternOf(await build(), 'PinTamperRule');
    const cause = `1 user(s) were not started: ci (InvalidInputError: the pin of 'ci' was ${TAMPER_PHRASE} (...)).`;
    expect(matchesPattern(pattern, statusChange({ stateMachineArn: FLEET, cause }))).toBe(true);
  });

  it.each([
    ['another failure’s cause', { cause: 'vaultPath aws/iam-users/x is not aws/iam-users/ci' }],
    ['no cause at all', { cause: null }],
    ['a missing cause field', { cause: undefined }],
    ['a success', { status: 'SUCCEEDED', error: null, cause: tamperedCause }],
    ['a time-out', { status: 'TIMED_OUT', cause: tamperedCause }],
  ])('does not match %s', async (_, detail) => {
    const pattern = patternOf(await build(), 'PinTamperRule');
    expect(matchesPattern(pattern, statusChange(detail))).toBe(false);
  });

  it('alerts the topic with a message starting "iam-key-rotator: POSSIBLE TAMPERING", naming the execution and cause', async () => {
    const r = await build();
    const { Targets } = r.PinTamperRule?.Properties as unknown as Rule;
    expect(Targets).toHaveLength(1);
    const [target] = Targets;
    expect(target?.Arn).toEqual({ Ref: 'AlertTopic' });
    const { InputTemplate, InputPathsMap } = target?.InputTransformer ?? {
      InputTemplate: '',
      InputPathsMap: {},
    };
    expect(InputTemplate.startsWith('"iam-key-rotator: POSSIBLE TAMPERING: ')).toBe(true);
    for (const placeholder of ['<name>', '<execution>', '<cause>'])
      expect(InputTemplate).toContain(placeholder);
    for (const [, name] of InputTemplate.matchAll(/<(\w+)>/g))
      expect(InputPathsMap).toHaveProperty(name ?? '');
    expect(InputPathsMap).toMatchObject({ execution: '$.detail.executionArn', cause: '$.detail.cause' });
    // The input carries a fleet's task token: never in an e-mail.
    expect(Object.values(InputPathsMap)).not.toContain('$.detail.input');
  });

  it('may publish to the alert topic (its ARN is among the topic policy’s rules)', async () => {
    const r = await build();
    const policy = r.AlertTopicPolicy?.Properties.PolicyDocument as {
      Statement: { Sid: string; Condition: { ArnEquals: { 'aws:SourceArn': unknown[] } } }[];
    };
    const rules = policy.Statement.find((s) => s.Sid === 'AlertRules')?.Condition.ArnEquals['aws:SourceArn'];
    expect(rules).toContainEqual({ 'Fn::GetAtt': ['PinTamperRule', 'Arn'] });
  });
});

describe('the other alert rules, against events', () => {
  it('sends every failed, timed-out or aborted execution of both machines, and no success', async () => {
    const pattern = patternOf(await build(), 'ExecutionFailedRule');
    for (const status of ['FAILED', 'TIMED_OUT', 'ABORTED']) {
      expect(matchesPattern(pattern, statusChange({ status }))).toBe(true);
      expect(matchesPattern(pattern, statusChange({ status, stateMachineArn: FLEET }))).toBe(true);
    }
    expect(matchesPattern(pattern, statusChange({ status: 'SUCCEEDED' }))).toBe(false);
  });

  it('sends a rotator tag change by a user or a foreign role, never the rotator’s own or another tag', async () => {
    const pattern = patternOf(await build(), 'RotatorTagTamperRule');
    const tagUser = (identity: Record<string, unknown>, key = 'iam-key-rotator:vault-path') => ({
      source: 'aws.iam',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventSource: 'iam.amazonaws.com',
        eventName: 'TagUser',
        requestParameters: { userName: 'ci', tags: [{ key, value: 'aws/iam-users/elsewhere' }] },
        userIdentity: identity,
      },
    });
    const assumed = (roleId: string) => ({
      type: 'AssumedRole',
      sessionContext: { sessionIssuer: { arn: ROLE(roleId) } },
    });
    expect(matchesPattern(pattern, tagUser({ type: 'IAMUser' }))).toBe(true);
    expect(matchesPattern(pattern, tagUser(assumed('SomeoneElsesRole')))).toBe(true);
    expect(matchesPattern(pattern, tagUser(assumed('VerifyKeyRole')))).toBe(false);
    expect(matchesPattern(pattern, tagUser({ type: 'IAMUser' }, 'team'))).toBe(false);
  });
});

describe('the pattern matcher itself', () => {
  it('treats wildcard characters other than * literally, and anything-but as excluding a list', () => {
    expect(matchesPattern({ a: [{ wildcard: 'x.y*' }] }, { a: 'x.yz' })).toBe(true);
    expect(matchesPattern({ a: [{ wildcard: 'x.y*' }] }, { a: 'xzyz' })).toBe(false);
    expect(matchesPattern({ a: [{ 'anything-but': ['p', 'q'] }] }, { a: 'r' })).toBe(true);
    expect(matchesPattern({ a: [{ 'anything-but': ['p', 'q'] }] }, { a: 'q' })).toBe(false);
    expect(matchesPattern({ a: [{ prefix: 'iam-' }] }, { a: ['x', 'iam-y'] })).toBe(true);
  });

  it('refuses an operator it does not know rather than guess', () => {
    expect(() => matchesPattern({ a: [{ numeric: ['>', 1] } as never] }, { a: 2 })).toThrow(/not supported/);
  });
});
