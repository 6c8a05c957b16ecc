import { describe, expect, it } from 'vitest';
import { conditionKeys } from '../../../local-stack/aws/access.js';
import { parsePolicy } from '../../../local-stack/aws/policy/document.js';
import { evaluate, type Decision } from '../../../local-stack/aws/policy/evaluate.js';
import { arnLike, wildcardMatch } from '../../../local-stack/aws/policy/wildcard.js';

const USER = 'arn:aws:iam::123456789012:user/rotated/ci';
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

type Statement = Record<string, unknown>;

function decide(
  statements: Statement[],
  action: string,
  resource = USER,
  context: Record<string, string | string[]> = {},
): Decision {
  const parsed = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  return evaluate(parsed, { action, resource, context: conditionKeys(context) });
}

const allow = (extra: Statement): Statement => ({ Effect: 'Allow', Resource: '*', ...extra });

describe('wildcards', () => {
  it('* spans any characters, / and : included; ? exactly one', () => {
    expect(wildcardMatch('arn:aws:iam::123456789012:user/rotated/*', USER)).toBe(true);
    expect(
      wildcardMatch('arn:aws:iam::123456789012:user/rotated/*', `${USER.replace('/ci', '/team/ci')}`),
    ).toBe(true);
    expect(
      wildcardMatch('arn:aws:iam::123456789012:user/rotated/*', 'arn:aws:iam::123456789012:user/ci'),
    ).toBe(false);
    expect(wildcardMatch('arn:aws:iam::123456789012:user/rotated/c?', USER)).toBe(true);
    expect(wildcardMatch('arn:aws:iam::123456789012:user/rotated/?', USER)).toBe(false);
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
  });

  it('ArnLike compares the six ARN parts one by one', () => {
    expect(
      arnLike(
        'arn:aws:iam::*:role/iam-key-rotator-*',
        'arn:aws:iam::123456789012:role/iam-key-rotator-local-createKey',
      ),
    ).toBe(true);
    expect(arnLike('arn:aws:iam::*:role/other-*', 'arn:aws:iam::123456789012:role/iam-key-rotator-x')).toBe(
      false,
    );
    // A * in the account part does not swallow the service part.
    expect(arnLike('arn:aws:*:role/x', 'arn:aws:iam::123456789012:role/x')).toBe(false);
    expect(arnLike('arn:aws:iam::123456789012:role/x', 'not-an-arn')).toBe(false);
  });
});

describe('policy evaluation', () => {
  it('allows only what an Allow statement names: anything else is implicitly denied', () => {
    const policy = [allow({ Action: 'iam:GetUser' })];
    expect(decide(policy, 'iam:GetUser')).toBe('allow');
    expect(decide(policy, 'iam:CreateAccessKey')).toBe('implicit-deny');
    expect(evaluate([], { action: 'iam:GetUser', resource: USER, context: conditionKeys({}) })).toBe(
      'implicit-deny',
    );
  });

  it('matches action names case-insensitively and with wildcards', () => {
    expect(decide([allow({ Action: 'IAM:getuser' })], 'iam:GetUser')).toBe('allow');
    expect(decide([allow({ Action: 'iam:*AccessKey*' })], 'iam:ListAccessKeys')).toBe('allow');
    expect(decide([allow({ Action: 'iam:?etUser' })], 'iam:GetUser')).toBe('allow');
    expect(decide([allow({ Action: 'iam:*AccessKey*' })], 'iam:TagUser')).toBe('implicit-deny');
  });

  it('matches resources case-sensitively, with the user path', () => {
    const policy = [allow({ Action: 'iam:*', Resource: 'arn:aws:iam::123456789012:user/rotated/*' })];
    expect(decide(policy, 'iam:GetUser', USER)).toBe('allow');
    expect(decide(policy, 'iam:GetUser', 'arn:aws:iam::123456789012:user/ci')).toBe('implicit-deny');
    expect(decide(policy, 'iam:GetUser', 'arn:aws:iam::123456789012:user/Rotated/ci')).toBe('implicit-deny');
  });

  it('an explicit Deny wins over any Allow', () => {
    const policy = [
      allow({ Action: '*' }),
      { Effect: 'Deny', Action: 'iam:DeleteAccessKey', Resource: USER },
    ];
    expect(decide(policy, 'iam:DeleteAccessKey')).toBe('explicit-deny');
    expect(decide(policy, 'iam:DeleteAccessKey', 'arn:aws:iam::123456789012:user/rotated/other')).toBe(
      'allow',
    );
  });

  it('NotAction and NotResource apply to everything they do not name', () => {
    expect(decide([allow({ NotAction: 'iam:*' })], 'kms:Decrypt', KEY)).toBe('allow');
    expect(decide([allow({ NotAction: ['iam:*', 'kms:*'] })], 'kms:Decrypt', KEY)).toBe('implicit-deny');
    const deny = [allow({ Action: 'iam:*' }), { Effect: 'Deny', Action: 'iam:*', NotResource: USER }];
    expect(decide(deny, 'iam:GetUser', USER)).toBe('allow');
    expect(decide(deny, 'iam:GetUser', 'arn:aws:iam::123456789012:user/rotated/other')).toBe('explicit-deny');
  });
});

describe('condition operators', () => {
  const purpose = 'kms:EncryptionContext:iam-key-rotator:purpose';
  const sealing = (condition: Statement) => [
    allow({ Action: 'kms:Decrypt', Resource: KEY, Condition: condition }),
  ];

  it('StringEquals: any listed value matches (OR), case-sensitively; a missing key never matches', () => {
    const policy = sealing({ StringEquals: { [purpose]: ['new-secret', 'previous-secret'] } });
    expect(decide(policy, 'kms:Decrypt', KEY, { [purpose]: 'previous-secret' })).toBe('allow');
    expect(decide(policy, 'kms:Decrypt', KEY, { [purpose]: 'New-Secret' })).toBe('implicit-deny');
    expect(decide(policy, 'kms:Decrypt', KEY, {})).toBe('implicit-deny');
  });

  it('condition key names compare case-insensitively', () => {
    const policy = sealing({
      StringEquals: { 'KMS:ENCRYPTIONCONTEXT:IAM-KEY-ROTATOR:PURPOSE': 'new-secret' },
    });
    expect(decide(policy, 'kms:Decrypt', KEY, { [purpose]: 'new-secret' })).toBe('allow');
  });

  it('every key and every operator of a Condition must match (AND)', () => {
    const policy = sealing({
      StringEquals: { [purpose]: 'new-secret', 'kms:EncryptionContext:iam-key-rotator:user': 'ci' },
      Null: { 'kms:EncryptionContext:iam-key-rotator:execution': 'false' },
    });
    const context = { [purpose]: 'new-secret', 'kms:EncryptionContext:iam-key-rotator:user': 'ci' };
    expect(
      decide(policy, 'kms:Decrypt', KEY, {
        ...context,
        'kms:EncryptionContext:iam-key-rotator:execution': 'x',
      }),
    ).toBe('allow');
    expect(decide(policy, 'kms:Decrypt', KEY, context)).toBe('implicit-deny');
    expect(
      decide(policy, 'kms:Decrypt', KEY, {
        ...context,
        [purpose]: 'previous-secret',
        'kms:EncryptionContext:iam-key-rotator:execution': 'x',
      }),
    ).toBe('implicit-deny');
  });

  it('StringLike matches * and ?', () => {
    const policy = [
      allow({
        Action: 'iam:TagUser',
        Condition: { StringLike: { 'aws:RequestTag/iam-key-rotator:claim': 'arn:aws:states:*' } },
      }),
    ];
    expect(
      decide(policy, 'iam:TagUser', USER, {
        'aws:RequestTag/iam-key-rotator:claim': 'arn:aws:states:us-east-1:1:execution:x',
      }),
    ).toBe('allow');
    expect(decide(policy, 'iam:TagUser', USER, { 'aws:RequestTag/iam-key-rotator:claim': 'other' })).toBe(
      'implicit-deny',
    );
  });

  it('ArnLike on aws:PrincipalArn', () => {
    const policy = [
      allow({
        Action: '*',
        Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/iam-key-rotator-*' } },
      }),
    ];
    expect(
      decide(policy, 'kms:Decrypt', KEY, {
        'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/iam-key-rotator-local-storeInVault',
      }),
    ).toBe('allow');
    expect(
      decide(policy, 'kms:Decrypt', KEY, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/admin' }),
    ).toBe('implicit-deny');
  });

  it('ForAllValues:StringEquals: every request value must be listed; an absent key matches', () => {
    const keys = ['iam-key-rotator:execution', 'iam-key-rotator:claim'];
    const policy = [
      allow({ Action: 'iam:TagUser', Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': keys } } }),
    ];
    expect(decide(policy, 'iam:TagUser', USER, { 'aws:TagKeys': ['iam-key-rotator:claim'] })).toBe('allow');
    expect(decide(policy, 'iam:TagUser', USER, { 'aws:TagKeys': keys })).toBe('allow');
    expect(decide(policy, 'iam:TagUser', USER, { 'aws:TagKeys': ['iam-key-rotator:claim', 'owner'] })).toBe(
      'implicit-deny',
    );
    expect(decide(policy, 'iam:TagUser', USER, {})).toBe('allow');
  });

  it('ForAnyValue:StringEquals: one listed value is enough; an absent key does not match', () => {
    const policy = [
      allow({ Action: 'iam:TagUser', Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'owner' } } }),
    ];
    expect(decide(policy, 'iam:TagUser', USER, { 'aws:TagKeys': ['a', 'owner'] })).toBe('allow');
    expect(decide(policy, 'iam:TagUser', USER, {})).toBe('implicit-deny');
  });

  it('Null: true matches an absent key, false a present one', () => {
    const absent = [
      allow({ Action: 'iam:TagUser', Condition: { Null: { 'aws:ResourceTag/owner': 'true' } } }),
    ];
    expect(decide(absent, 'iam:TagUser', USER, {})).toBe('allow');
    expect(decide(absent, 'iam:TagUser', USER, { 'aws:ResourceTag/owner': 'x' })).toBe('implicit-deny');
    const present = [
      allow({ Action: 'iam:TagUser', Condition: { Null: { 'aws:ResourceTag/owner': 'false' } } }),
    ];
    expect(decide(present, 'iam:TagUser', USER, { 'aws:ResourceTag/owner': 'x' })).toBe('allow');
    expect(decide(present, 'iam:TagUser', USER, {})).toBe('implicit-deny');
  });

  it('Bool compares true/false case-insensitively; a missing key does not match', () => {
    const policy = [
      { Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      allow({ Action: '*' }),
    ];
    expect(decide(policy, 'iam:GetUser', USER, { 'aws:SecureTransport': 'FALSE' })).toBe('explicit-deny');
    expect(decide(policy, 'iam:GetUser', USER, { 'aws:SecureTransport': 'true' })).toBe('allow');
    expect(decide(policy, 'iam:GetUser', USER, {})).toBe('allow');
  });

  it('a condition on a key the request does not carry leaves the statement out', () => {
    const policy = [
      allow({ Action: 'iam:GetUser', Condition: { StringEquals: { 'aws:ResourceTag/team': 'ci' } } }),
    ];
    expect(decide(policy, 'iam:GetUser', USER, {})).toBe('implicit-deny');
    expect(decide(policy, 'iam:GetUser', USER, { 'aws:ResourceTag/team': 'ci' })).toBe('allow');
  });
});

describe('policy documents', () => {
  const doc = (statement: unknown) => JSON.stringify({ Version: '2012-10-17', Statement: statement });

  it('accepts one statement or a list, and lists or single strings', () => {
    expect(parsePolicy(doc({ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }))).toHaveLength(1);
    expect(
      parsePolicy(doc([{ Effect: 'Allow', Action: ['a:b'], Resource: ['*'] }]))[0]?.actions.patterns,
    ).toEqual(['a:b']);
  });

  it.each([
    ['not JSON', '{'],
    ['an old version', JSON.stringify({ Version: '2008-10-17', Statement: [] })],
    ['both Action and NotAction', doc({ Effect: 'Allow', Action: 'a:b', NotAction: 'a:c', Resource: '*' })],
    ['no Resource', doc({ Effect: 'Allow', Action: 'a:b' })],
    [
      'an operator it does not evaluate',
      doc({
        Effect: 'Allow',
        Action: 'a:b',
        Resource: '*',
        Condition: { NumericLessThan: { 'aws:x': '1' } },
      }),
    ],
  ])('refuses a document with %s', (_what, text) => {
    expect(() => parsePolicy(text)).toThrow();
  });
});
