import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FLEET_FUNCTIONS,
  FUNCTIONS,
  type FleetFunctionName,
  type FunctionName,
  type PolicySettings,
  TARGET_STEPS,
  roleArnVariable,
  VAULT_FUNCTIONS,
  VAULT_WRITERS,
  fleetFunctionPolicy,
  functionPolicy,
} from '../../deploy/policies.cjs';
import {
  CFN_LINT,
  LINT_TITLE,
  type Packaged,
  type Resource,
  actions,
  allowing,
  assumeRoleGrants,
  cfnLint,
  cycles,
  fromCloudFormation,
  packageService,
  pascal,
  roleStatements,
} from './template.js';
import { describeFleetBucket } from './fleet-bucket.js';
import { describeAlertsPackaged } from './alerts-packaged.js';

// The other shape: token auth (the reader's token in Secrets Manager, the writer's in SSM), a private
// CA, a client certificate, a customer-managed key on those, a key administrator, a VPC, and two
// other accounts to rotate in.
const READER_TOKEN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rotator/reader-token-AbCdEf';
const SECRETS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ADMIN = 'arn:aws:iam::123456789012:role/key-admin';
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
const GROUPS = ['sg-0123456789abcdef0'];
const ACCOUNTS = ['222222222222', '333333333333'];
const PARAMS = {
  vaultAuthMethod: 'token',
  vaultTokenSecretArn: READER_TOKEN,
  vaultWriterTokenParameter: 'rotator/writer-token',
  vaultCaParameter: 'rotator/vault-ca',
  vaultClientCertSecretArn: 'rotator/vault-client-cert',
  vaultSecretsKmsKeyArn: SECRETS_KEY,
  keyAdministratorArn: KEY_ADMIN,
  vpcSubnetIds: SUBNETS.join(','),
  vpcSecurityGroupIds: GROUPS.join(','),
  alertEmail: 'ops@example.com',
  httpTrigger: 'true',
  allowedAccountIds: ACCOUNTS.join(','),
  targetExternalId: 'rotator-ext-id',
  vaultPathTemplate: '{prefix}{accountId}/{userName}',
};

let packaged: Packaged;
let resources: Record<string, Resource> = {};

beforeAll(async () => {
  packaged = await packageService(PARAMS);
  ({ resources } = packaged);
}, 150_000);

afterAll(async () => {
  await rm(packaged.dir, { recursive: true, force: true });
});

const lambda = (fn: string) => resources[`${pascal(fn)}LambdaFunction`]?.Properties;
const env = (fn: string) => (lambda(fn)?.Environment as { Variables: Record<string, unknown> }).Variables;
const WRITER_TOKEN_ARN =
  'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/rotator/writer-token';
const CLIENT_CERT_ARN =
  'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:rotator/vault-client-cert-??????';

/** The functions whose role allows `action` on a resource (as policies.cjs writes it). */
function readers(action: string, resource: string): (FunctionName | FleetFunctionName)[] {
  return [...allowing(resources, action)]
    .filter(([, list]) => list.some((s) => [fromCloudFormation(s.Resource)].flat().includes(resource)))
    .map(([fn]) => fn);
}

describe('serverless package with token auth, a client certificate, a key administrator and a VPC', () => {
  it.each([...FUNCTIONS, ...FLEET_FUNCTIONS])(
    'renders the policy of %s from deploy/policies.cjs with the parameters',
    (fn) => {
      const statements = fromCloudFormation(roleStatements(resources, `${pascal(fn)}Role`)) as {
        Sid?: string;
      }[];
      const settings: PolicySettings = {
        reader: { tokenSecret: READER_TOKEN, tokenParameter: '' },
        writer: { tokenSecret: '', tokenParameter: 'rotator/writer-token' },
        caParameter: 'rotator/vault-ca',
        clientCertSecret: 'rotator/vault-client-cert',
        secretsKeyArn: SECRETS_KEY,
        vpc: { subnetIds: SUBNETS, securityGroupIds: GROUPS },
        targetAccounts: { accountIds: ACCOUNTS },
      };
      const expected = (
        (FUNCTIONS as string[]).includes(fn)
          ? functionPolicy(fn as FunctionName, settings)
          : fleetFunctionPolicy(fn as FleetFunctionName, settings)
      ).Statement;
      const bySid = (list: { Sid?: string }[]) =>
        [...list].sort((a, b) => (a.Sid ?? '').localeCompare(b.Sid ?? ''));
      expect(bySid(statements)).toEqual(bySid(expected));
    },
  );

  it('lets only storeInVault and restoreVault read the writer’s token, and only the other Vault functions the reader’s', () => {
    expect(readers('ssm:GetParameter', WRITER_TOKEN_ARN).sort()).toEqual([...VAULT_WRITERS].sort());
    expect(readers('secretsmanager:GetSecretValue', READER_TOKEN).sort()).toEqual(
      VAULT_FUNCTIONS.filter((fn) => !VAULT_WRITERS.includes(fn)).sort(),
    );
    for (const fn of VAULT_FUNCTIONS) {
      const writer = VAULT_WRITERS.includes(fn);
      expect(env(fn)).toMatchObject({
        VAULT_AUTH_METHOD: 'token',
        VAULT_TOKEN_SECRET_ID: writer ? '' : READER_TOKEN,
        VAULT_TOKEN_PARAMETER: writer ? '/rotator/writer-token' : '',
      });
    }
  });

  it('lets every Vault function, and no other, read the CA bundle and the client certificate', () => {
    const ca = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/rotator/vault-ca';
    expect(readers('ssm:GetParameter', ca).sort()).toEqual([...VAULT_FUNCTIONS].sort());
    expect(readers('secretsmanager:GetSecretValue', CLIENT_CERT_ARN).sort()).toEqual(
      [...VAULT_FUNCTIONS].sort(),
    );
    for (const fn of VAULT_FUNCTIONS) {
      expect(env(fn)).toMatchObject({
        VAULT_CACERT_PARAMETER: '/rotator/vault-ca',
        VAULT_CLIENT_CERT_SECRET_ID: 'rotator/vault-client-cert',
      });
    }
  });

  it('lets the customer-managed key on those secrets decrypt only through Secrets Manager and SSM', () => {
    for (const [fn, list] of allowing(resources, 'kms:Decrypt')) {
      const onKey = list.filter((s) => fromCloudFormation(s.Resource) === SECRETS_KEY);
      if (!VAULT_FUNCTIONS.includes(fn)) {
        expect(onKey).toEqual([]);
        continue;
      }
      expect(onKey).toHaveLength(1);
      expect(fromCloudFormation(onKey[0]?.Condition)).toEqual({
        StringEquals: {
          'kms:ViaService': [
            'secretsmanager.${AWS::Region}.amazonaws.com',
            'ssm.${AWS::Region}.amazonaws.com',
          ],
        },
      });
    }
  });

  it.each(['SecretSealingKey', 'PinSigningKey', 'ClaimSigningKey'])(
    'hands %s to the named administrator instead of the account',
    (id) => {
      const policy = resources[id]?.Properties.KeyPolicy as {
        Statement: { Sid?: string; Principal?: unknown }[];
      };
      expect(policy.Statement.find((s) => s.Sid === 'AdministerKey')?.Principal).toEqual({ AWS: KEY_ADMIN });
      expect(JSON.stringify(policy)).not.toContain(':root');
    },
  );

  it('lets listCandidates log in to Vault as the reader, like the other reading functions', () => {
    expect(VAULT_FUNCTIONS).toContain('listCandidates');
    expect(VAULT_WRITERS).not.toContain('listCandidates');
    expect(env('listCandidates')).toMatchObject({
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN_SECRET_ID: READER_TOKEN,
      VAULT_AWS_AUTH_ROLE: 'iam-key-rotator-reader',
    });
  });

  it('puts every Vault function, and only those, in the VPC', () => {
    for (const fn of [...FUNCTIONS, ...FLEET_FUNCTIONS]) {
      expect(lambda(fn)?.VpcConfig).toEqual(
        VAULT_FUNCTIONS.includes(fn) ? { SubnetIds: SUBNETS, SecurityGroupIds: GROUPS } : undefined,
      );
    }
  });

  it('gives the VPC functions’ roles the network-interface actions Lambda needs, scoped where EC2 allows', () => {
    const ec2 = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}';
    for (const fn of [...FUNCTIONS, ...FLEET_FUNCTIONS]) {
      const statements = roleStatements(resources, `${pascal(fn)}Role`).filter((s) =>
        actions(s).some((a) => a.startsWith('ec2:')),
      );
      if (!VAULT_FUNCTIONS.includes(fn)) {
        expect(statements).toEqual([]);
        continue;
      }
      const grants = statements.map((s) => [actions(s).sort(), fromCloudFormation(s.Resource)]);
      expect(grants).toEqual([
        [['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], '*'],
        [
          ['ec2:CreateNetworkInterface'],
          [
            `${ec2}:network-interface/*`,
            ...SUBNETS.map((id) => `${ec2}:subnet/${id}`),
            ...GROUPS.map((id) => `${ec2}:security-group/${id}`),
          ],
        ],
        [
          ['ec2:AssignPrivateIpAddresses', 'ec2:DeleteNetworkInterface', 'ec2:UnassignPrivateIpAddresses'],
          `${ec2}:network-interface/*`,
        ],
      ]);
    }
  });

  it('serves POST /rotations to signed requests only (AWS_IAM), starting the rotation machine', () => {
    const method = resources.RotationsApiPostMethod?.Properties;
    expect(method).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    expect(JSON.stringify(method?.Integration)).toContain('{"Ref":"RotateAccessKeyStateMachine"}');
    expect(resources.RotateAccessKeyStateMachine?.Type).toBe('AWS::StepFunctions::StateMachine');
    const deployments = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Deployment');
    expect(deployments).toHaveLength(1);
    expect(resources.RotationsApiStage?.Properties.DeploymentId).toEqual({ Ref: deployments[0]?.[0] });
    expect(resources.AlertTopic?.Properties.Subscription).toEqual([
      { Protocol: 'email', Endpoint: 'ops@example.com' },
    ]);
    // The alert topic's key, too, goes to the named administrator.
    const key = resources.AlertTopicKey?.Properties.KeyPolicy as {
      Statement: { Sid?: string; Principal?: unknown }[];
    };
    expect(key.Statement.find((s) => s.Sid === 'AdministerKey')?.Principal).toEqual({ AWS: KEY_ADMIN });
  });

  it('lets only the 7 steps’ roles assume the target role, and only in the two allowed accounts', () => {
    const grants = assumeRoleGrants(resources);
    expect([...grants.keys()].sort()).toEqual(TARGET_STEPS.map((step) => `${pascal(step)}Role`).sort());
    for (const [id, list] of grants) {
      expect(
        list.map((s) => [actions(s), fromCloudFormation(s.Resource), s.Condition]),
        id,
      ).toEqual([
        [
          ['sts:AssumeRole', 'sts:SetSourceIdentity'],
          ACCOUNTS.map((account) => `arn:\${AWS::Partition}:iam::${account}:role/\${TargetRoleName}`),
          {
            StringEquals: { 'sts:SourceIdentity': TARGET_STEPS.find((step) => id === `${pascal(step)}Role`) },
          },
        ],
      ]);
      expect(JSON.stringify(list[0]?.Resource)).toContain('"TargetRoleName":"iam-key-rotator-target"');
    }
    // No role gets AWS-managed policies that could grant it behind the inline ones.
    for (const r of Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Role')) {
      expect(r.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('tells every function its own account, the other accounts, the target role and the ExternalId', () => {
    for (const fn of [...FUNCTIONS, ...FLEET_FUNCTIONS]) {
      expect(env(fn), fn).toMatchObject({
        ROTATOR_ACCOUNT_ID: { Ref: 'AWS::AccountId' },
        ROTATOR_ALLOWED_ACCOUNT_IDS: ACCOUNTS.join(','),
        ROTATOR_TARGET_ROLE_NAME: 'iam-key-rotator-target',
        ROTATOR_TARGET_EXTERNAL_ID: 'rotator-ext-id',
      });
    }
    // listCandidates keeps its own variable on top of the deployment's.
    expect(env('listCandidates').ROTATOR_USER_PATH).toBe('/rotated/');
  });

  it('outputs the 7 steps’ role ARNs, which deploy/target-account.yml takes as parameters of the same names', () => {
    for (const step of TARGET_STEPS) {
      expect(packaged.outputs[roleArnVariable(step)]?.Value).toEqual({
        'Fn::GetAtt': [`${pascal(step)}Role`, 'Arn'],
      });
    }
  });

  it('has no dependency cycle between resources', () => {
    expect(cycles(resources)).toEqual([]);
  });

  it.skipIf(!CFN_LINT)(LINT_TITLE, async () => {
    const findings = await cfnLint(packaged.template);
    expect(findings.filter((f) => f.Rule.Id.startsWith('E')).map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual(
      [],
    );
  });
});

describeFleetBucket(() => packaged);
describeAlertsPackaged(() => packaged, { httpTrigger: true, memberAccounts: true });
