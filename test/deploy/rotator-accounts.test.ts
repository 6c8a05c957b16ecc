// The rotator's side of many accounts, from deploy/template.cjs called as serverless calls it (no
// packaging): which roles may assume the target role, where, and the outputs a member-account
// StackSet is fed from. The packaged templates are checked in package.test.ts (default: no
// AssumeRole anywhere) and configured.test.ts (two allowed accounts).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  FUNCTIONS,
  TARGET_STEPS,
  functionPolicy,
  render,
  roleArnVariable,
  usesSealingKey,
  usesSigningKey,
} from '../../deploy/policies.cjs';
import { resources } from '../../deploy/template.cjs';
import { TEMPLATE_PATH } from '../../deploy/target-account.cjs';
import { assumeRoleGrants, fromCloudFormation, pascal, type Resource, templateContext } from './template.js';

const ACCOUNTS = ['222222222222', '333333333333'];
const PER_ACCOUNT = { vaultPathTemplate: '{prefix}{accountId}/{userName}' };
const TARGETS = { allowedAccountIds: ACCOUNTS.join(','), targetExternalId: 'rotator-ext-id', ...PER_ACCOUNT };

async function build(params: Record<string, unknown> = {}) {
  const built = await resources(templateContext(params));
  return { ...built, Resources: built.Resources as Record<string, Resource> };
}

describe('the rotator’s roles with allowed accounts (deploy/template.cjs)', () => {
  it('lets exactly the 7 steps’ roles assume the target role, by name, in the allowed accounts only', async () => {
    const { Resources } = await build({ ...TARGETS, targetRoleName: 'rotator-target' });
    const grants = assumeRoleGrants(Resources);
    expect([...grants.keys()].sort()).toEqual(TARGET_STEPS.map((step) => `${pascal(step)}Role`).sort());
    for (const [id, list] of grants) {
      const step = TARGET_STEPS.find((name) => id === `${pascal(name)}Role`);
      expect(list).toHaveLength(1);
      const [statement] = list;
      expect(statement?.Sid).toBe('AssumeTargetRole');
      expect(statement?.Action).toEqual(['sts:AssumeRole', 'sts:SetSourceIdentity']);
      expect(statement?.Condition).toEqual({ StringEquals: { 'sts:SourceIdentity': step } });
      const arns = render(fromCloudFormation(statement?.Resource) as string[], {
        'AWS::Partition': 'aws',
        TargetRoleName: 'rotator-target',
      });
      expect(arns).toEqual(ACCOUNTS.map((id) => `arn:aws:iam::${id}:role/rotator-target`));
      // The role name is the parameter's, substituted at package time.
      expect(JSON.stringify(statement?.Resource)).toContain('"TargetRoleName":"rotator-target"');
    }
  });

  it('adds nothing else to the steps’ policies: each is its policy without target accounts plus AssumeTargetRole', async () => {
    const without = await build();
    const withTargets = await build(TARGETS);
    // The IAM change alerts name the accounts by design (test/deploy/member-events.test.ts).
    const alerts = ['OutOfBandChangeRule', 'RotatorTagTamperRule', 'MemberAccountsForwardIamChanges'];
    for (const id of Object.keys(without.Resources).filter((id) => !alerts.includes(id))) {
      const before = JSON.stringify(without.Resources[id]);
      const after = withTargets.Resources[id];
      if (!TARGET_STEPS.some((step) => id === `${pascal(step)}Role`)) {
        expect(JSON.stringify(after), id).toBe(before);
        continue;
      }
      const policies = (after?.Properties.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[];
      const stripped = policies.map((p) => ({
        ...p,
        PolicyDocument: {
          ...p.PolicyDocument,
          Statement: p.PolicyDocument.Statement.filter(
            (s) => (s as { Sid?: string }).Sid !== 'AssumeTargetRole',
          ),
        },
      }));
      expect(JSON.stringify({ ...after, Properties: { ...after?.Properties, Policies: stripped } }), id).toBe(
        before,
      );
    }
    expect(Object.keys(withTargets.Resources).sort()).toEqual(
      [...Object.keys(without.Resources), 'MemberAccountsForwardIamChanges'].sort(),
    );
  });

  it('grants no AssumeRole at all with the default parameters', async () => {
    const { Resources } = await build();
    expect([...assumeRoleGrants(Resources).keys()]).toEqual([]);
    for (const fn of FUNCTIONS) {
      expect(functionPolicy(fn, { targetAccounts: { accountIds: [] } })).toEqual(functionPolicy(fn));
    }
  });

  it('outputs each step’s role ARN under the name of deploy/target-account.yml’s parameter for it', async () => {
    const { Outputs } = await build();
    const member = parse(await readFile(TEMPLATE_PATH, 'utf8')) as { Parameters: Record<string, unknown> };
    for (const step of TARGET_STEPS) {
      const name = roleArnVariable(step);
      expect(Outputs[name]?.Value).toEqual({ 'Fn::GetAtt': [`${pascal(step)}Role`, 'Arn'] });
      expect(member.Parameters).toHaveProperty(name);
    }
    const roleParameters = Object.keys(member.Parameters).filter((name) => name.endsWith('RoleArn'));
    expect(Object.keys(Outputs).filter((name) => name.endsWith('RoleArn'))).toEqual(roleParameters);
  });

  it('takes an ExternalId of 2 to 1024 characters and a role name of up to 64, within STS’s 1,224 and the trust policy quota', async () => {
    const ok = { allowedAccountIds: ACCOUNTS[0], ...PER_ACCOUNT };
    await expect(build({ ...ok, targetExternalId: 'ab' })).resolves.toBeDefined();
    await expect(build({ ...ok, targetExternalId: 'e'.repeat(1024) })).resolves.toBeDefined();
    await expect(build({ ...ok, targetExternalId: 'e'.repeat(1025) })).rejects.toThrow(
      'targetExternalId is 2-1024 of',
    );
    await expect(build({ ...TARGETS, targetRoleName: 'r'.repeat(64) })).resolves.toBeDefined();
    await expect(build({ ...TARGETS, targetRoleName: 'r'.repeat(65) })).rejects.toThrow(
      'is not an IAM role name',
    );
    await expect(
      build({ allowedAccountIds: 'not-an-account', targetExternalId: 'rotator-ext-id', ...PER_ACCOUNT }),
    ).rejects.toThrow('allowedAccountIds: not-an-account is not a 12-digit account id');
  });

  it('sizes: the heaviest step role stays under IAM’s 10,240-character inline policy quota up to 120 accounts', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => String(100_000_000_000 + i));
    // The heaviest shape: token auth, a CA, a client certificate, a customer-managed key, a VPC.
    const statements = functionPolicy('createKey', {
      reader: {
        tokenSecret: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:rotator/reader-token-AbCdEf',
      },
      caParameter: 'rotator/vault-ca',
      clientCertSecret: 'rotator/vault-client-cert',
      secretsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      vpc: {
        subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
      targetAccounts: { accountIds: ids },
    }).Statement;
    const values = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'us-east-1',
      'AWS::AccountId': '111111111111',
      Service: 'iam-key-rotator',
      Stage: 'prod',
      UserPath: '/rotated/',
      SealingKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      PinKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/2234abcd-12ab-34cd-56ef-1234567890ab',
      ClaimKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/3234abcd-12ab-34cd-56ef-1234567890ab',
      TargetRoleName: 'iam-key-rotator-target',
    };
    // IAM counts the role's inline policies together (the sealing and the signing-key statements are
    // two of them), without whitespace.
    const size = [
      statements.filter((s) => !usesSealingKey(s) && !usesSigningKey(s)),
      statements.filter(usesSealingKey),
      statements.filter((s) => usesSigningKey(s)),
    ]
      .map((list) => JSON.stringify(render({ Version: '2012-10-17', Statement: list }, values)).length)
      .reduce((a, b) => a + b);
    expect(size).toBeLessThan(10_240);
  });
});
