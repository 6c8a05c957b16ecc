import { CreateRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { conditionKeys } from '../../../local-stack/aws/access.js';
import { MalformedPolicyError } from '../../../local-stack/aws/policy/document.js';
import { parseTrustPolicy, trusts, type TrustCaller } from '../../../local-stack/aws/policy/trust.js';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const document = (...Statement: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const allow = (Principal: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal,
  Action: 'sts:AssumeRole',
  ...extra,
});

const ROLE_ARN = 'arn:aws:iam::123456789012:role/fn/createKey';
const SESSION: TrustCaller = {
  accountId: '123456789012',
  arns: [ROLE_ARN, 'arn:aws:sts::123456789012:assumed-role/createKey/run-1'],
};
const USER: TrustCaller = { accountId: '444455556666', arns: ['arn:aws:iam::444455556666:user/ops/ann'] };
const NO_KEYS = conditionKeys({});

const trusted = (caller: TrustCaller, text: string, action = 'sts:AssumeRole', context = NO_KEYS) =>
  trusts(parseTrustPolicy(text), caller, action, context);

describe('trust policy: Principal', () => {
  it("names a caller by its role ARN, its session ARN, a user's ARN, its account (root ARN or 12 digits) or *", () => {
    expect(trusted(SESSION, document(allow({ AWS: ROLE_ARN })))).toBe(true);
    expect(trusted(SESSION, document(allow({ AWS: SESSION.arns[1] })))).toBe(true);
    expect(trusted(USER, document(allow({ AWS: [ROLE_ARN, USER.arns[0]] })))).toBe(true);
    expect(trusted(SESSION, document(allow({ AWS: 'arn:aws:iam::123456789012:root' })))).toBe(true);
    expect(trusted(SESSION, document(allow({ AWS: '123456789012' })))).toBe(true);
    expect(trusted(USER, document(allow('*')))).toBe(true);
    expect(trusted(USER, document(allow({ AWS: '*' })))).toBe(true);
  });

  it('does not match another principal, another account, or a service (no emulated caller is one)', () => {
    expect(trusted(USER, document(allow({ AWS: ROLE_ARN })))).toBe(false);
    expect(trusted(SESSION, document(allow({ AWS: 'arn:aws:iam::123456789012:role/fn/deleteOld' })))).toBe(
      false,
    );
    expect(trusted(USER, document(allow({ AWS: 'arn:aws:iam::123456789012:root' })))).toBe(false);
    expect(trusted(SESSION, document(allow({ Service: 'lambda.amazonaws.com' })))).toBe(false);
  });

  it('an applying Deny wins; an action outside Action (or inside NotAction) does not apply', () => {
    const deny = { Effect: 'Deny', Principal: { AWS: ROLE_ARN }, Action: 'sts:*' };
    expect(trusted(SESSION, document(allow('*'), deny))).toBe(false);
    expect(trusted(SESSION, document(allow('*')), 'sts:SetSourceIdentity')).toBe(false);
    const notTag = { Effect: 'Allow', Principal: '*', NotAction: 'sts:TagSession' };
    expect(trusted(SESSION, document(notTag), 'sts:SetSourceIdentity')).toBe(true);
  });

  it('evaluates conditions on sts:ExternalId, sts:SourceIdentity, aws:PrincipalArn and aws:PrincipalAccount', () => {
    const text = document(
      allow('*', {
        Condition: {
          StringEquals: { 'sts:ExternalId': 'ext-1', 'aws:PrincipalAccount': '123456789012' },
          StringLike: { 'sts:SourceIdentity': 'create*' },
          ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/fn/*' },
        },
      }),
    );
    const context = (externalId?: string, principalArn = ROLE_ARN) =>
      conditionKeys({
        'sts:ExternalId': externalId,
        'sts:SourceIdentity': 'createKey',
        'aws:PrincipalArn': principalArn,
        'aws:PrincipalAccount': '123456789012',
      });
    expect(trusted(SESSION, text, 'sts:AssumeRole', context('ext-1'))).toBe(true);
    expect(trusted(SESSION, text, 'sts:AssumeRole', context('ext-2'))).toBe(false);
    expect(trusted(SESSION, text, 'sts:AssumeRole', context(undefined))).toBe(false);
    const other = context('ext-1', 'arn:aws:iam::123456789012:role/other');
    expect(trusted(SESSION, text, 'sts:AssumeRole', other)).toBe(false);
  });

  it('refuses what IAM refuses in a trust policy: a Resource, a malformed principal, no Principal', () => {
    const refusal = (text: string) => {
      try {
        parseTrustPolicy(text);
      } catch (error) {
        if (error instanceof MalformedPolicyError) return error.message;
        throw error;
      }
      return 'accepted';
    };
    expect(refusal(document(allow('*', { Resource: '*' })))).toContain('Has prohibited field Resource');
    expect(refusal(document(allow({ AWS: 'arn:aws:iam::1234:role/x' })))).toBe(
      'Invalid principal in policy: "AWS":"arn:aws:iam::1234:role/x"',
    );
    expect(refusal(document(allow({ AWS: 'arn:aws:iam::123456789012:role/*' })))).toContain(
      'Invalid principal',
    );
    expect(refusal(document(allow({ Service: 'not a service' })))).toContain(
      'Invalid principal in policy: "SERVICE"',
    );
    expect(refusal(document({ Effect: 'Allow', Action: 'sts:AssumeRole' }))).not.toBe('accepted');
  });
});

describe('trust policy on the wire', () => {
  const emulator = useEmulator({ memberAccountIds: ['222222222222'] });

  it('CreateRole answers MalformedPolicyDocument for a trust policy IAM would refuse', async () => {
    const error = await failure(
      clients(emulator()).iam.send(
        new CreateRoleCommand({
          RoleName: uniqueName('bad-trust'),
          AssumeRolePolicyDocument: document(allow('*', { Resource: '*' })),
        }),
      ),
    );
    expect(error.name).toBe('MalformedPolicyDocumentException');
    expect(error.message).toContain('Has prohibited field Resource');
  });

  it('UpdateAssumeRolePolicy replaces who may assume the role', async () => {
    const member = clients(emulator(), emulator().account('222222222222').adminCredentials);
    const homeAdmin = `arn:aws:iam::${emulator().accountId}:user/local-admin`;
    const name = uniqueName('target');
    const { Role } = await member.iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: document(allow({ AWS: '999999999999' })),
      }),
    );
    const assume = () =>
      clients(emulator()).sts.send(
        new AssumeRoleCommand({ RoleArn: Role?.Arn, RoleSessionName: 'from-home' }),
      );
    expect((await failure(assume())).name).toBe('AccessDenied');
    await member.iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: name,
        PolicyDocument: document(allow({ AWS: homeAdmin })),
      }),
    );
    expect((await assume()).AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::222222222222:assumed-role/${name}/from-home`,
    );
  });
});
