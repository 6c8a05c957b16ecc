import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: { AWS?: unknown };
  Condition?: unknown;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

const run = promisify(execFile);
let dir = '';
let resources: Record<string, Resource> = {};

// `serverless package` needs no AWS account: strip every credential so it cannot reach one.
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iam-key-rotator-package-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^AWS_/.test(k)));
  await run(process.execPath, ['node_modules/osls/bin/serverless.js', 'package', '--package', dir], {
    env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    timeout: 120_000,
  });
  const template = JSON.parse(
    await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as {
    Resources: Record<string, Resource>;
  };
  resources = template.Resources;
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
  ],
  storeInVault: ['kms:Decrypt'],
  verifyKey: ['iam:TagUser'],
  deactivateOld: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
  deleteOld: ['iam:DeleteAccessKey', 'iam:ListAccessKeys'],
  restoreVault: ['kms:Decrypt'],
  discardNewKey: ['iam:DeleteAccessKey'],
} as const;

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** A role's statements: its inline policies and the unconditional policies attached to it. */
function roleStatements(roleId: string): Statement[] {
  const role = resources[roleId];
  const inline = (role?.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  const attached = Object.values(resources).filter(
    (r) =>
      r.Type === 'AWS::IAM::Policy' &&
      !(r as Resource & { Condition?: string }).Condition &&
      (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId),
  );
  return [
    ...inline,
    ...attached.map((r) => r.Properties as { PolicyDocument: { Statement: Statement[] } }),
  ].flatMap((p) => p.PolicyDocument.Statement);
}

/** The resources a value refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub). */
function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) references(v, found);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string') found.add(v);
      else if (key === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string') found.add(v[0]);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(v) ? v[0] : v;
        for (const m of String(text).matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g)) found.add(m[1] ?? '');
        references(Array.isArray(v) ? v[1] : undefined, found);
      } else references(v, found);
    }
  }
  return found;
}

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
    ]) {
      expect(definition).toContain(`\\"${state}\\"`);
    }
    for (const fn of Object.keys(FUNCTIONS)) expect(definition).toContain(`${pascal(fn)}LambdaFunction`);
  });

  it.each(Object.entries(FUNCTIONS))('gives %s its own role holding only its own actions', (fn, expected) => {
    const lambda = resources[`${pascal(fn)}LambdaFunction`];
    expect(lambda?.Properties.Runtime).toBe('nodejs22.x');
    expect(lambda?.Properties.Role).toEqual({ 'Fn::GetAtt': [`${pascal(fn)}Role`, 'Arn'] });
    const statements = roleStatements(`${pascal(fn)}Role`);
    const own = statements.flatMap(actions).filter((a) => !/^(logs|xray):/.test(a));
    expect([...new Set(own)].sort()).toEqual([...expected].sort());
  });

  it('never grants iam:* or an IAM action on every resource, and scopes IAM to the rotated users path', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      for (const statement of roleStatements(`${pascal(fn)}Role`)) {
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

  it('lets only createKey seal, storeInVault open new secrets and restoreVault open previous values', () => {
    const key = resources.SecretSealingKey;
    const statements = (key?.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
    const use = statements.filter((s) => actions(s).some((a) => a === 'kms:Encrypt' || a === 'kms:Decrypt'));
    expect(use.map((s) => [JSON.stringify(s.Principal?.AWS), actions(s)])).toEqual([
      [JSON.stringify({ 'Fn::GetAtt': ['CreateKeyRole', 'Arn'] }), ['kms:Encrypt']],
      [JSON.stringify({ 'Fn::GetAtt': ['StoreInVaultRole', 'Arn'] }), ['kms:Decrypt']],
      [JSON.stringify({ 'Fn::GetAtt': ['RestoreVaultRole', 'Arn'] }), ['kms:Decrypt']],
    ]);
    const purposes = use.map((s) => JSON.stringify(s.Condition).match(/purpose":(\[[^\]]*\]|"[^"]*")/)?.[1]);
    expect(purposes).toEqual(['["new-secret","previous-secret"]', '"new-secret"', '"previous-secret"']);
    for (const s of use) expect(JSON.stringify(s.Condition)).toContain('iam-key-rotator:purpose');
    const admin = statements.find((s) => s.Sid === 'AccountAdministersKey');
    expect(actions(admin as Statement)).not.toContain('kms:Decrypt');
  });

  it('creates a schedule rule per configured user carrying that user’s execution input', () => {
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const inputs = rules.map((r) => {
      const [target] = r.Properties.Targets as { Input: string; Arn: unknown }[];
      expect(target?.Arn).toEqual({ Ref: 'RotateAccessKeyStateMachine' });
      return JSON.parse(target?.Input ?? '{}') as Record<string, unknown>;
    });
    expect(inputs).toEqual([
      { userName: 'ci-deployer' },
      { userName: 'vendor-sync', vaultPath: 'aws/iam-users/vendors/vendor-sync', graceSeconds: 3600 },
    ]);
  });

  it('never deploys a plain Vault token or a switch that turns TLS verification off', () => {
    for (const fn of Object.keys(FUNCTIONS)) {
      const env = (
        resources[`${pascal(fn)}LambdaFunction`]?.Properties.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(env.VAULT_TOKEN).toBeUndefined();
      expect(env.VAULT_APPROLE_SECRET_ID).toBeUndefined();
      expect(env.VAULT_SKIP_VERIFY).toBeUndefined();
      expect(env.VAULT_ADDR).toMatch(/^https:/);
    }
  });

  it('lets only the functions that talk to Vault read its credentials, and only when configured', () => {
    for (const id of [
      'ReadVaultTokenSecret',
      'ReadAppRoleSecretId',
      'ReadVaultTokenParameter',
      'ReadVaultCaParameter',
    ]) {
      const policy = resources[id] as Resource & { Condition?: string };
      expect(policy.Condition).toMatch(/^Has/);
      const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
      expect(roles).not.toContain('ValidateInputRole');
      expect(roles).toHaveLength(7);
    }
  });

  it('has no dependency cycle between resources (CloudFormation refuses such a stack)', () => {
    const edges = new Map(
      Object.entries(resources).map(([id, r]) => [
        id,
        [
          ...references(r),
          ...[(r as Resource & { DependsOn?: string | string[] }).DependsOn ?? []].flat(),
        ].filter((ref) => ref in resources),
      ]),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (id: string, path: string[]) => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(id)), id].join(' -> '));
        return;
      }
      state.set(id, 'visiting');
      for (const next of edges.get(id) ?? []) visit(next, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of edges.keys()) visit(id, []);
    expect(cycles).toEqual([]);
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
});
