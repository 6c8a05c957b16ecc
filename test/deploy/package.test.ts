import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundles } from '../../bench/bundles.js';
import {
  FUNCTIONS as POLICY_FUNCTIONS,
  CLAIM_TAG_KEYS,
  KEY_ADMINISTRATION,
  PIN_TAG_KEYS,
  ROTATOR_TAG_KEYS,
  VAULT_FUNCTIONS,
  VAULT_WRITERS,
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
  matches,
  packageService,
  pascal,
  roleStatements,
  run,
  subValues,
} from './template.js';
import { describeFleetBucket } from './fleet-bucket.js';
import { describeAlertsPackaged } from './alerts-packaged.js';

interface KeyStatement {
  Sid?: string;
  Effect: string;
  Principal?: { AWS?: unknown };
  Action: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

// The default parameters (Vault's AWS auth, no VPC). test/deploy/configured.test.ts packages the other shape.
let packaged: Packaged;
let resources: Record<string, Resource> = {};
let dir = '';

beforeAll(async () => {
  packaged = await packageService();
  ({ resources, dir } = packaged);
}, 150_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FUNCTIONS = {
  validateInput: [],
  createKey: [
    'iam:CreateAccessKey',
    'iam:DeleteAccessKey',
    'iam:GetAccessKeyLastUsed',
    'iam:GetUser',
    'iam:ListAccessKeys',
    'iam:ListUserTags',
    'iam:TagUser',
    'kms:Encrypt',
    'kms:GenerateMac',
    'kms:VerifyMac',
  ],
  storeInVault: ['kms:Decrypt'],
  verifyKey: ['iam:TagUser', 'kms:GenerateMac'],
  deactivateOld: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
  deleteOld: ['iam:DeleteAccessKey', 'iam:ListAccessKeys'],
  restoreVault: ['kms:Decrypt'],
  discardNewKey: ['iam:DeleteAccessKey'],
  discardLeftovers: [
    'iam:DeleteAccessKey',
    'iam:GetUser',
    'iam:ListAccessKeys',
    'iam:ListUserTags',
    'kms:VerifyMac',
  ],
} as const;

const keyStatements = () =>
  (resources.SecretSealingKey?.Properties.KeyPolicy as { Statement: KeyStatement[] }).Statement;
const role = (fn: string) => ({ 'Fn::GetAtt': [`${pascal(fn)}Role`, 'Arn'] });
const env = (fn: string) =>
  (resources[`${pascal(fn)}LambdaFunction`]?.Properties.Environment as { Variables: Record<string, unknown> })
    .Variables;

describe('serverless package', () => {
  it('defines the state machine from the ASL file with every Task bound to its function', () => {
    const machine = resources.RotateAccessKeyStateMachine;
    expect(machine?.Type).toBe('AWS::StepFunctions::StateMachine');
    const definition = JSON.stringify(machine?.Properties.DefinitionString);
    for (const state of [
      'ValidateInput',
      'CreateKey',
      'StoreInVault',
      'VerifyKey',
      'RestoreVault',
      'DiscardNewKey',
      'DiscardLeftovers',
    ]) {
      expect(definition).toContain(`\\"${state}\\"`);
    }
    for (const fn of Object.keys(FUNCTIONS)) expect(definition).toContain(`${pascal(fn)}LambdaFunction`);
  });

  it.each(Object.entries(FUNCTIONS))('gives %s its own role holding only its own actions', (fn, expected) => {
    const lambda = resources[`${pascal(fn)}LambdaFunction`];
    expect(lambda?.Properties.Runtime).toBe('nodejs22.x');
    expect(lambda?.Properties.Role).toEqual(role(fn));
    const statements = roleStatements(resources, `${pascal(fn)}Role`);
    const own = statements.flatMap(actions).filter((a) => !/^(logs|xray):/.test(a));
    expect([...new Set(own)].sort()).toEqual([...expected].sort());
  });

  it.each(POLICY_FUNCTIONS)('renders the policy of %s from deploy/policies.cjs, the one source', (fn) => {
    const statements = roleStatements(resources, `${pascal(fn)}Role`);
    const bySid = (list: { Sid?: string }[]) =>
      [...list].sort((a, b) => (a.Sid ?? '').localeCompare(b.Sid ?? ''));
    expect(bySid(fromCloudFormation(statements) as { Sid?: string }[])).toEqual(
      bySid(functionPolicy(fn).Statement),
    );
    expect(subValues(statements)).toMatchObject({ Service: 'iam-key-rotator', Stage: 'dev' });
    // The sealing key's statements sit in a policy of their own (the key policy names the roles).
    const inline = JSON.stringify(resources[`${pascal(fn)}Role`]?.Properties.Policies);
    expect(inline).not.toContain('SecretSealingKey');
  });

  it('never grants iam:* or an IAM action on every resource, and scopes IAM to the rotated users path', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      for (const statement of roleStatements(resources, `${pascal(fn)}Role`)) {
        const list = actions(statement);
        expect(list).not.toContain('iam:*');
        expect(list.some((a) => a === '*')).toBe(false);
        if (list.some((a) => a.startsWith('iam:'))) {
          expect(statement.Resource).not.toBe('*');
          const resource = JSON.stringify(statement.Resource);
          expect(resource).toContain(':user${UserPath}*');
          expect(resource).toContain('"UserPath":"/rotated/"');
        }
      }
    }
  });

  it('allows iam:TagUser only in a statement of its own, limited to the tag keys each function writes', () => {
    expect(ROTATOR_TAG_KEYS).toEqual([...CLAIM_TAG_KEYS, ...PIN_TAG_KEYS]);
    // Each tag and its MAC are written together, by the one function that may sign that kind.
    expect(CLAIM_TAG_KEYS).toEqual([
      'iam-key-rotator:execution',
      'iam-key-rotator:claim',
      'iam-key-rotator:claim-mac',
    ]);
    expect(PIN_TAG_KEYS).toEqual(['iam-key-rotator:vault-path', 'iam-key-rotator:vault-path-mac']);
    const tagging = [...allowing(resources, 'iam:TagUser')].filter(([, list]) => list.length > 0);
    expect(tagging.map(([fn]) => fn).sort()).toEqual(['createKey', 'verifyKey']);
    const keysWritten: Record<string, string[]> = {
      createKey: CLAIM_TAG_KEYS,
      verifyKey: PIN_TAG_KEYS,
    };
    for (const [fn, list] of tagging) {
      for (const statement of list) {
        expect(actions(statement)).toEqual(['iam:TagUser']);
        expect(statement.Condition).toEqual({
          'ForAllValues:StringEquals': { 'aws:TagKeys': keysWritten[fn] },
        });
      }
    }
    // Nothing removes tags, so nothing may.
    expect([...allowing(resources, 'iam:UntagUser').values()].flat()).toEqual([]);
  });

  it('lets only createKey seal, storeInVault open new secrets and restoreVault open previous values', () => {
    const use = keyStatements().filter(
      (s) => s.Effect === 'Allow' && actions(s).some((a) => a === 'kms:Encrypt' || a === 'kms:Decrypt'),
    );
    expect(use.map((s) => [s.Principal?.AWS, actions(s)])).toEqual([
      [role('createKey'), ['kms:Encrypt']],
      [role('storeInVault'), ['kms:Decrypt']],
      [role('restoreVault'), ['kms:Decrypt']],
    ]);
    const purposes = use.map((s) => JSON.stringify(s.Condition).match(/purpose":(\[[^\]]*\]|"[^"]*")/)?.[1]);
    expect(purposes).toEqual(['["new-secret","previous-secret"]', '"new-secret"', '"previous-secret"']);
  });

  it('denies kms:Decrypt to every principal but the two unsealing roles, and grants and re-encryption to all', () => {
    const denies = keyStatements().filter((s) => s.Effect === 'Deny');
    const decrypt = denies.find((s) => actions(s).includes('kms:Decrypt'));
    expect(decrypt?.Principal).toEqual({ AWS: '*' });
    expect(decrypt?.Condition).toEqual({
      ArnNotEquals: { 'aws:PrincipalArn': VAULT_WRITERS.map(role) },
    });
    const others = denies.find((s) => actions(s).includes('kms:CreateGrant'));
    expect(others?.Principal).toEqual({ AWS: '*' });
    expect(others?.Condition).toBeUndefined();
    expect(actions(others ?? { Action: [] }).sort()).toEqual([
      'kms:CreateGrant',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
    ]);
  });

  it('lets the key administrator (the account by default) manage the key but neither use it nor grant it', () => {
    const admin = keyStatements().find((s) => s.Sid === 'AdministerKey');
    expect(admin?.Principal).toEqual({
      AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
    });
    for (const statement of keyStatements().filter((s) => s.Effect === 'Allow' && s !== admin)) {
      // Every other Allow names one of the rotator's roles.
      expect(JSON.stringify(statement.Principal)).toMatch(
        /"Fn::GetAtt":\["(CreateKey|StoreInVault|RestoreVault)Role"/,
      );
    }
    for (const action of [
      'kms:Decrypt',
      'kms:CreateGrant',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
      'kms:GenerateDataKey',
      'kms:Encrypt',
    ]) {
      expect(actions(admin ?? { Action: [] }).filter((a) => matches(a, action))).toEqual([]);
    }
    // KMS refuses a key policy its creator could not change (the lockout check): keep PutKeyPolicy.
    expect(actions(admin ?? { Action: [] })).toContain('kms:PutKeyPolicy');
    expect(
      keyStatements().filter(
        (s) => s.Effect === 'Deny' && actions(s).some((a) => matches(a, 'kms:PutKeyPolicy')),
      ),
    ).toEqual([]);
  });

  it('creates the pin and claim signing keys as HMAC_256 keys without rotation, and names them to every function', () => {
    for (const id of ['PinSigningKey', 'ClaimSigningKey']) {
      expect(resources[id]?.Type).toBe('AWS::KMS::Key');
      // KMS cannot rotate HMAC keys: EnableKeyRotation true would fail the deployment.
      expect(resources[id]?.Properties).toMatchObject({
        KeySpec: 'HMAC_256',
        KeyUsage: 'GENERATE_VERIFY_MAC',
        EnableKeyRotation: false,
      });
    }
    for (const fn of Object.keys(FUNCTIONS)) {
      expect(env(fn)).toMatchObject({
        ROTATOR_PIN_KEY_ID: { Ref: 'PinSigningKey' },
        ROTATOR_CLAIM_KEY_ID: { Ref: 'ClaimSigningKey' },
      });
    }
  });

  it.each([
    ['PinSigningKey', 'verifyKey'],
    ['ClaimSigningKey', 'createKey'],
  ])(
    'lets only the writer’s role GenerateMac with %s (%s), denied to every other principal',
    (id, writer) => {
      const statements = (resources[id]?.Properties.KeyPolicy as { Statement: KeyStatement[] }).Statement;
      expect(statements.filter((s) => s.Effect === 'Deny')).toEqual([
        {
          Sid: 'OnlyTheWriterSigns',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'kms:GenerateMac',
          Resource: '*',
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [role(writer)] } },
        },
      ]);
      // The administrator statement is the sealing key's: manage, never use.
      expect(statements.find((s) => s.Sid === 'AdministerKey')).toEqual(
        keyStatements().find((s) => s.Sid === 'AdministerKey'),
      );
      expect(actions(statements.find((s) => s.Sid === 'AdministerKey') ?? { Action: [] })).toEqual(
        KEY_ADMINISTRATION,
      );
      const use = statements.filter((s) => s.Effect === 'Allow' && s.Sid !== 'AdministerKey');
      const expected =
        writer === 'verifyKey'
          ? [
              ['createKey', 'kms:VerifyMac'],
              ['verifyKey', 'kms:GenerateMac'],
              ['listCandidates', 'kms:VerifyMac'],
            ]
          : [
              ['createKey', 'kms:GenerateMac'],
              ['createKey', 'kms:VerifyMac'],
              ['discardLeftovers', 'kms:VerifyMac'],
              ['listCandidates', 'kms:VerifyMac'],
            ];
      expect(use.map((s) => [s.Principal?.AWS, actions(s)])).toEqual(
        expected.map(([fn, action]) => [role(fn ?? ''), [action]]),
      );
      for (const statement of use) {
        expect(statement.Condition).toEqual({ StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } });
      }
    },
  );

  it('grants kms:GenerateMac to the tag writers and kms:VerifyMac to the tag readers, HMAC_SHA_256 only, outside the roles', () => {
    const grants = (action: string) =>
      Object.fromEntries(
        [...allowing(resources, action)]
          .filter(([, list]) => list.length > 0)
          .map(([fn, list]) => [fn, list.flatMap((s) => [fromCloudFormation(s.Resource)].flat())]),
      );
    expect(grants('kms:GenerateMac')).toEqual({
      createKey: ['${ClaimKeyArn}'],
      verifyKey: ['${PinKeyArn}'],
    });
    expect(grants('kms:VerifyMac')).toEqual({
      createKey: ['${PinKeyArn}', '${ClaimKeyArn}'],
      discardLeftovers: ['${ClaimKeyArn}'],
      listCandidates: ['${PinKeyArn}', '${ClaimKeyArn}'],
    });
    for (const action of ['kms:GenerateMac', 'kms:VerifyMac']) {
      for (const statement of [...allowing(resources, action).values()].flat()) {
        expect(statement.Condition).toEqual({ StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } });
      }
    }
    // In policies of their own: the key policies name the roles, so a role naming a key is a cycle.
    for (const fn of ['createKey', 'verifyKey', 'discardLeftovers', 'listCandidates']) {
      const inline = JSON.stringify(resources[`${pascal(fn)}Role`]?.Properties.Policies);
      expect(inline).not.toMatch(/PinSigningKey|ClaimSigningKey/);
      expect(resources[`${pascal(fn)}SigningKeyUse`]?.Type).toBe('AWS::IAM::Policy');
    }
  });

  it('runs the state machine under a role only Step Functions, for this state machine and account, can assume', () => {
    const machine = resources.RotateAccessKeyStateMachine;
    expect(machine?.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['StateMachineRole', 'Arn'] });
    expect(resources.RotateAccessKeyStateMachineRole).toBeUndefined();
    const trust = resources.StateMachineRole?.Properties.AssumeRolePolicyDocument as {
      Statement: { Principal: unknown; Action: string; Condition: Record<string, Record<string, unknown>> }[];
    };
    expect(trust.Statement).toHaveLength(1);
    const [statement] = trust.Statement;
    expect(statement?.Principal).toEqual({ Service: 'states.amazonaws.com' });
    expect(statement?.Condition.StringEquals).toEqual({
      'aws:SourceAccount': { 'Fn::Sub': '${AWS::AccountId}' },
    });
    const source = statement?.Condition.ArnEquals?.['aws:SourceArn'] as {
      'Fn::Sub': [string, Record<string, string>];
    };
    const [arn, values] = source['Fn::Sub'];
    const name = arn.replace(
      /^arn:\$\{AWS::Partition\}:states:\$\{AWS::Region\}:\$\{AWS::AccountId\}:stateMachine:/,
      '',
    );
    expect(name.replace(/\$\{(\w+)\}/g, (_, v: string) => values[v] ?? '?')).toBe(
      machine?.Properties.StateMachineName,
    );
  });

  it('lets the state machine invoke exactly its 9 functions, report to the fleet, log and trace', () => {
    const statements = (
      resources.StateMachineRole?.Properties.Policies as { PolicyDocument: { Statement: KeyStatement[] } }[]
    ).flatMap((p) => p.PolicyDocument.Statement) as (KeyStatement & { Resource: unknown })[];
    const invoke = statements.filter((s) => actions(s).some((a) => a.startsWith('lambda:')));
    expect(invoke.flatMap(actions)).toEqual(['lambda:InvokeFunction']);
    const invoked = (fromCloudFormation(invoke.flatMap((s) => [s.Resource].flat())) as string[]).map((arn) =>
      arn.replace(
        /\$\{(\w+)\}/g,
        (whole, v: string) => (subValues(invoke)[v] as string | undefined) ?? whole,
      ),
    );
    const names = Object.keys(FUNCTIONS).map(
      (fn) => resources[`${pascal(fn)}LambdaFunction`]?.Properties.FunctionName as string,
    );
    // The ASL invokes unqualified ARNs, so no version or alias (`:*`) is granted.
    expect(invoked).toEqual(
      names.map((n) => `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${n}`),
    );
    const rest = statements.filter((s) => !invoke.includes(s));
    expect(rest.flatMap(actions).sort()).toEqual(
      [
        'logs:CreateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:UpdateLogDelivery',
        'states:SendTaskSuccess',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it('creates a schedule rule per configured user carrying that user’s execution input', () => {
    const rules = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        JSON.stringify(r.Properties.Targets).includes('{"Ref":"RotateAccessKeyStateMachine"}'),
    );
    const inputs = rules.map((r) => {
      expect(r.Properties.ScheduleExpression).toBe('rate(30 days)');
      const [target] = r.Properties.Targets as { Input: string; Arn: unknown }[];
      return JSON.parse(target?.Input ?? '{}') as Record<string, unknown>;
    });
    expect(inputs).toEqual([
      { userName: 'ci-deployer' },
      { userName: 'vendor-sync', vaultPath: 'aws/iam-users/vendors/vendor-sync', graceSeconds: 3600 },
    ]);
  });

  it('defines the fleet machine from its ASL, under its own role, logged and traced like the rotation machine', () => {
    const fleet = resources.RotateFleetStateMachine;
    expect(fleet?.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(fleet?.Properties.StateMachineName).toBe('iam-key-rotator-fleet-dev');
    expect(fleet?.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['FleetStateMachineRole', 'Arn'] });
    const definition = JSON.stringify(fleet?.Properties.DefinitionString);
    expect(definition).toContain('states:startExecution.waitForTaskToken');
    expect(definition).toContain('ListCandidatesLambdaFunction');
    // The children it starts are the rotation machine's.
    expect(definition).toContain('RotateAccessKeyStateMachine');
    expect(fleet?.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(fleet?.Properties.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['FleetStateMachineLogGroup', 'Arn'] } } },
      ],
    });
    expect(resources.FleetStateMachineLogGroup?.Properties.LogGroupName).toBe(
      '/aws/vendedlogs/states/iam-key-rotator-fleet-dev',
    );
    expect(resources.ListCandidatesLambdaFunction?.Properties.Environment).toMatchObject({
      Variables: { ROTATOR_USER_PATH: '/rotated/' },
    });
    for (const fn of ['listCandidates', 'summarizeFleet', 'reportToFleet']) {
      expect(resources[`${pascal(fn)}LambdaFunction`]?.Properties.Role).toEqual(role(fn));
      expect(resources[`${pascal(fn)}LambdaFunction`]?.Properties.VpcConfig).toBeUndefined();
    }
  });

  it('starts the fleet daily with the default fleet input', () => {
    const schedules = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        JSON.stringify(r.Properties.Targets).includes('{"Ref":"RotateFleetStateMachine"}'),
    );
    expect(schedules).toHaveLength(1);
    expect(schedules[0]?.Properties).toMatchObject({ ScheduleExpression: 'rate(1 day)', State: 'ENABLED' });
    const [target] = schedules[0]?.Properties.Targets as { Input: string }[];
    expect(JSON.parse(target?.Input ?? '')).toEqual({ maxKeyAgeDays: 90 });
  });

  it('alerts on both machines that the template defines, and (in us-east-1) on out-of-band changes', () => {
    const machines = (
      resources.ExecutionFailedRule?.Properties.EventPattern as {
        detail: { stateMachineArn: { Ref: string }[] };
      }
    ).detail.stateMachineArn.map((ref) => ref.Ref);
    expect(machines).toEqual(['RotateAccessKeyStateMachine', 'RotateFleetStateMachine']);
    for (const id of machines) expect(resources[id]?.Type).toBe('AWS::StepFunctions::StateMachine');
    for (const id of ['RotationFailedAlarm', 'FleetFailedAlarm']) {
      expect(resources[id]?.Type).toBe('AWS::CloudWatch::Alarm');
    }
    expect(resources.OutOfBandChangeRule?.Type).toBe('AWS::Events::Rule');
    // No HTTP trigger unless asked for.
    expect(Object.values(resources).filter((r) => r.Type.startsWith('AWS::ApiGateway::'))).toEqual([]);
  });

  it('never deploys a plain Vault token or a switch that turns TLS verification off', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      const variables = env(fn);
      expect(variables.VAULT_TOKEN).toBeUndefined();
      expect(variables.VAULT_APPROLE_SECRET_ID).toBeUndefined();
      expect(variables.VAULT_CLIENT_KEY_PEM).toBeUndefined();
      expect(variables.VAULT_SKIP_VERIFY).toBeUndefined();
      expect(variables.VAULT_ADDR).toMatch(/^https:/);
    }
  });

  it('logs the writers in as the Vault writer and every other function as the reader', () => {
    for (const fn of VAULT_FUNCTIONS) {
      expect(env(fn).VAULT_AWS_AUTH_ROLE).toBe(
        VAULT_WRITERS.includes(fn) ? 'iam-key-rotator-writer' : 'iam-key-rotator-reader',
      );
    }
  });

  it('deploys replay protection and the safety floors by default', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      expect(env(fn)).toMatchObject({
        VAULT_AWS_IAM_SERVER_ID: 'auto',
        ROTATOR_MIN_GRACE_SECONDS: '600',
        ROTATOR_MIN_RECOVERY_SECONDS: '3600',
        ROTATOR_IN_USE_MARGIN_SECONDS: '360',
        ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'false',
        ROTATOR_ALLOW_VAULT_PATH_ADOPT: 'false',
      });
    }
  });

  it('publishes the default floors as tags of the rotation machine, for the CLI to check input with', () => {
    const tags = resources.RotateAccessKeyStateMachine?.Properties.Tags as { Key: string; Value: string }[];
    expect(tags.filter((tag) => tag.Key.startsWith('iam-key-rotator:'))).toEqual([
      { Key: 'iam-key-rotator:minGraceSeconds', Value: '600' },
      { Key: 'iam-key-rotator:minRecoverySeconds', Value: '3600' },
      { Key: 'iam-key-rotator:allowOldKeyInUseProceed', Value: 'false' },
      { Key: 'iam-key-rotator:allowVaultPathMove', Value: 'false' },
      { Key: 'iam-key-rotator:allowDeleteInactiveKey', Value: 'false' },
      { Key: 'iam-key-rotator:allowVaultPathAdopt', Value: 'false' },
    ]);
  });

  it('grants no secret, parameter or network access that the default parameters do not use', () => {
    for (const action of [
      'secretsmanager:GetSecretValue',
      'ssm:GetParameter',
      'ec2:CreateNetworkInterface',
    ]) {
      expect([...allowing(resources, action).values()].flat()).toEqual([]);
    }
    const kmsDecrypt = [...allowing(resources, 'kms:Decrypt').entries()].filter(
      ([, list]) => list.length > 0,
    );
    // The sealed secret (storeInVault, restoreVault), and the fleet's own objects through S3 only.
    expect(kmsDecrypt.map(([fn]) => fn)).toEqual(['storeInVault', 'restoreVault', 'summarizeFleet']);
    expect(allowing(resources, 'kms:Decrypt').get('summarizeFleet')).toEqual([
      expect.objectContaining({
        Resource: expect.objectContaining({ 'Fn::GetAtt': ['FleetBucketKey', 'Arn'] }),
        Condition: { StringEquals: { 'kms:ViaService': expect.anything() } },
      }),
    ]);
    for (const fn of Object.keys(FUNCTIONS)) {
      expect(resources[`${pascal(fn)}LambdaFunction`]?.Properties.VpcConfig).toBeUndefined();
    }
    expect(Object.values(resources).filter((r) => r.Condition)).toEqual([]);
  });

  it('lets no role assume any other role, and tells the functions they act in their own account only', () => {
    expect([...assumeRoleGrants(resources).keys()]).toEqual([]);
    for (const fn of Object.keys(FUNCTIONS)) {
      expect(env(fn)).toMatchObject({
        ROTATOR_ACCOUNT_ID: { Ref: 'AWS::AccountId' },
        ROTATOR_ALLOWED_ACCOUNT_IDS: '',
        ROTATOR_TARGET_ROLE_NAME: 'iam-key-rotator-target',
        ROTATOR_TARGET_EXTERNAL_ID: '',
      });
    }
    // The role ARNs a member account's template would take, there in any case.
    expect(Object.keys(packaged.outputs).filter((name) => name.endsWith('RoleArn'))).toEqual([
      'CreateKeyRoleArn',
      'VerifyKeyRoleArn',
      'DeactivateOldRoleArn',
      'DeleteOldRoleArn',
      'DiscardNewKeyRoleArn',
      'DiscardLeftoversRoleArn',
      'ListCandidatesRoleArn',
    ]);
  });

  it('has no dependency cycle between resources (CloudFormation refuses such a stack)', () => {
    expect(cycles(resources)).toEqual([]);
  });

  it.skipIf(!CFN_LINT)(LINT_TITLE, async () => {
    const findings = await cfnLint(packaged.template);
    expect(findings.filter((f) => f.Rule.Id.startsWith('E')).map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual(
      [],
    );
  });

  it('keeps the error class names in the minified bundles, since Step Functions matches them', async () => {
    const out = join(dir, 'unzipped');
    await run('unzip', ['-o', '-q', join(dir, 'verifyKey.zip'), '-d', out]);
    const { handler } = (await import(join(out, 'functions/verifyKey.mjs'))) as {
      handler: (event: unknown) => Promise<unknown>;
    };
    await expect(handler({})).rejects.toMatchObject({ name: 'InvalidInputError' });
    // A Vault nobody listens on: the transient error the state machine retries.
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      ROTATOR_KMS_KEY_ID: 'unused',
      ROTATOR_PIN_KEY_ID: 'unused',
      ROTATOR_CLAIM_KEY_ID: 'unused',
      ROTATOR_ACCOUNT_ID: '123456789012',
      VAULT_ADDR: 'http://127.0.0.1:9',
      VAULT_AUTH_METHOD: 'token',
      VAULT_TOKEN: 'unused',
      VAULT_KV_VERSION: '2',
    });
    const request = {
      userName: 'u',
      vaultPath: 'aws/iam-users/u',
      dryRun: false,
      graceSeconds: 0,
      recoverySeconds: 0,
      deleteInactiveKey: false,
      oldKeyInUse: 'wait',
      inUseRecheckSeconds: 0,
      execution: 'arn:aws:states:us-east-1:123456789012:execution:m:e',
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    const created = {
      dryRun: false,
      userArn: 'arn:aws:iam::123456789012:user/u',
      accessKeyId: 'AKIAEXAMPLE',
      createDate: '2026-01-01T00:00:01.000Z',
      sealedSecret: { ciphertext: 'x' },
      oldAccessKeyIds: [],
      hasOldKeys: false,
      removedInactiveKeyIds: [],
      vaultBefore: { version: 0, accessKeyId: null },
    };
    const stored = {
      version: 1,
      previousVersion: 0,
      alreadyStored: false,
      storedAt: '2026-01-01T00:00:02.000Z',
    };
    await expect(handler({ request, created, stored })).rejects.toMatchObject({
      name: 'VaultUnavailableError',
    });
  });

  it('sets log retention on every function log group', () => {
    const groups = Object.entries(resources).filter(
      ([id, r]) => r.Type === 'AWS::Logs::LogGroup' && id.endsWith('LogGroup'),
    );
    expect(groups.length).toBeGreaterThanOrEqual(Object.keys(FUNCTIONS).length);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('bundles each function into its own minified ESM file', async () => {
    const { stdout } = await run('unzip', ['-l', join(dir, 'createKey.zip')]);
    expect(stdout).toContain('functions/createKey.mjs');
    expect(stdout).not.toContain('node_modules');
    const { stdout: code } = await run(
      'unzip',
      ['-p', join(dir, 'createKey.zip'), 'functions/createKey.mjs'],
      {
        maxBuffer: 64 * 2 ** 20,
      },
    );
    expect(code).toMatch(/export\s*\{[^}]*handler/);
    // Minified: long lines, not one statement per line.
    expect(code.length / code.split('\n').length).toBeGreaterThan(1_000);
  });

  it('packages byte for byte the bundles the size budget test builds', async () => {
    const built = await buildBundles(join(dir, 'bundles'));
    for (const { fn, file } of built) {
      const { stdout } = await run('unzip', ['-p', join(dir, `${fn}.zip`), `functions/${fn}.mjs`], {
        encoding: 'buffer',
        maxBuffer: 64 * 2 ** 20,
      });
      expect(stdout.equals(await readFile(file)), fn).toBe(true);
    }
  }, 60_000);
});

describeFleetBucket(() => packaged);
describeAlertsPackaged(() => packaged, { httpTrigger: false, memberAccounts: false });
