// Packages the service offline and reads the CloudFormation template: shared by the template tests.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import {
  FLEET_FUNCTIONS,
  FUNCTIONS,
  type FleetFunctionName,
  type FunctionName,
  type Statement,
} from '../../deploy/policies.cjs';

export interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
}
export interface Packaged {
  dir: string;
  template: string;
  resources: Record<string, Resource>;
  outputs: Record<string, { Description?: string; Value: unknown }>;
}

export const run = promisify(execFile);
export const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);
export const actions = (s: { Action?: unknown }) => [s.Action ?? []].flat() as string[];

/** A lock older than this was left by a test process that died while packaging. */
const STALE_LOCK_MS = 5 * 60_000;

/**
 * serverless-esbuild builds in the checkout's `.esbuild` folder: two test files packaging at once
 * (vitest runs files in parallel) would build over each other. One package at a time per checkout.
 */
async function exclusively<T>(work: () => Promise<T>): Promise<T> {
  const checkout = createHash('sha256').update(process.cwd()).digest('hex').slice(0, 12);
  const lock = join(tmpdir(), `iam-key-rotator-package-${checkout}.lock`);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** `serverless package` with `--param` values; it needs no AWS account: every credential is stripped. */
export async function packageService(params: Record<string, string> = {}): Promise<Packaged> {
  const dir = await mkdtemp(join(tmpdir(), 'iam-key-rotator-package-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^AWS_/.test(k)));
  const args = Object.entries(params).map(([k, v]) => `--param=${k}=${v}`);
  await exclusively(() =>
    run(process.execPath, ['node_modules/osls/bin/serverless.js', 'package', '--package', dir, ...args], {
      env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      timeout: 120_000,
    }),
  );
  const template = join(dir, 'cloudformation-template-update-stack.json');
  const { Resources, Outputs } = JSON.parse(await readFile(template, 'utf8')) as {
    Resources: Record<string, Resource>;
    Outputs: Packaged['outputs'];
  };
  return { dir, template, resources: Resources, outputs: Outputs };
}

/** Each statement of a role: its inline policies and the policies attached to it, in that order. */
export function roleStatements(resources: Record<string, Resource>, roleId: string): Statement[] {
  const role = resources[roleId];
  const inline = (role?.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  const attached = Object.values(resources).filter(
    (r) =>
      r.Type === 'AWS::IAM::Policy' &&
      (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId),
  );
  return [
    ...inline,
    ...attached.map((r) => r.Properties as { PolicyDocument: { Statement: Statement[] } }),
  ].flatMap((p) => p.PolicyDocument.Statement);
}

/** The statements of every function's role (the fleet's too) that allow `action`, by function. */
export function allowing(
  resources: Record<string, Resource>,
  action: string,
): Map<FunctionName | FleetFunctionName, Statement[]> {
  return new Map(
    [...FUNCTIONS, ...FLEET_FUNCTIONS].map((fn) => [
      fn,
      roleStatements(resources, `${pascal(fn)}Role`).filter(
        (s) => s.Effect === 'Allow' && actions(s).some((a) => matches(a, action)),
      ),
    ]),
  );
}

/**
 * Every role's statements (inline and attached policies, not trust policies) allowing
 * sts:AssumeRole or sts:SetSourceIdentity, by role; roles with none are left out.
 */
export function assumeRoleGrants(resources: Record<string, Resource>): Map<string, Statement[]> {
  return new Map(
    Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([id]): [string, Statement[]] => [
        id,
        roleStatements(resources, id).filter(
          (s) =>
            s.Effect === 'Allow' &&
            actions(s).some((a) => matches(a, 'sts:AssumeRole') || matches(a, 'sts:SetSourceIdentity')),
        ),
      ])
      .filter(([, list]) => list.length > 0),
  );
}

/** Whether an IAM action pattern (with * and ?) covers an action. */
export function matches(pattern: string, action: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(action);
}

/** The KMS keys' logical ids, and the variables policies.cjs names their ARNs with. */
const KEY_VARIABLES: Record<string, string> = {
  SecretSealingKey: '${SealingKeyArn}',
  PinSigningKey: '${PinKeyArn}',
  ClaimSigningKey: '${ClaimKeyArn}',
};

/**
 * A template value back in policies.cjs's notation: Fn::Sub strings as they were, a resource's ARN
 * as the variable the documents use for it.
 */
export function fromCloudFormation(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromCloudFormation);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const [only] = entries;
    if (entries.length === 1 && only?.[0] === 'Fn::Sub') {
      return Array.isArray(only[1]) ? only[1][0] : only[1];
    }
    if (entries.length === 1 && only?.[0] === 'Fn::GetAtt') {
      const [id] = only[1] as [string, string];
      return KEY_VARIABLES[id] ?? `\${${id}Arn}`;
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, fromCloudFormation(v)]));
  }
  return value;
}

/** The values of the variables an Fn::Sub string uses, merged over all of them in a value. */
export function subValues(value: unknown, found: Record<string, unknown> = {}): Record<string, unknown> {
  if (Array.isArray(value)) for (const v of value) subValues(v, found);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Fn::Sub' && Array.isArray(v)) Object.assign(found, v[1]);
      else subValues(v, found);
    }
  }
  return found;
}

/** The resources a value refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub). */
export function references(value: unknown, found = new Set<string>()): Set<string> {
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

/** Dependency cycles between resources (CloudFormation refuses such a stack). */
export function cycles(resources: Record<string, Resource>): string[] {
  const edges = new Map(
    Object.entries(resources).map(([id, r]) => [
      id,
      [...references(r), ...[r.DependsOn ?? []].flat()].filter((ref) => ref in resources),
    ]),
  );
  const state = new Map<string, 'visiting' | 'done'>();
  const found: string[] = [];
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      found.push([...path.slice(path.indexOf(id)), id].join(' -> '));
      return;
    }
    state.set(id, 'visiting');
    for (const next of edges.get(id) ?? []) visit(next, [...path, id]);
    state.set(id, 'done');
  };
  for (const id of edges.keys()) visit(id, []);
  return found;
}

/** cfn-lint on the PATH, if any (it is a Python tool, not an npm dependency). */
export const CFN_LINT = (process.env.PATH ?? '')
  .split(delimiter)
  .map((dir) => join(dir, 'cfn-lint'))
  .find((path) => existsSync(path));

/** The cfn-lint test's title, which says why it is skipped where cfn-lint is absent. */
export const LINT_TITLE = CFN_LINT
  ? 'lints with zero cfn-lint errors'
  : 'skipped: cfn-lint is not on the PATH, so the template is not linted';

/** cfn-lint's findings on a template (errors and warnings). */
export async function cfnLint(template: string): Promise<{ Rule: { Id: string }; Message: string }[]> {
  if (!CFN_LINT) throw new Error('cfn-lint is not on the PATH');
  // Exit status is a bit mask of the levels found; the JSON on stdout says what.
  const { stdout } = await run(CFN_LINT, ['--format', 'json', template]).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  return JSON.parse(stdout || '[]') as { Rule: { Id: string }; Message: string }[];
}

/** Every parameter deploy/template.cjs reads, at serverless.yml's defaults. */
export const TEMPLATE_PARAMS: Record<string, string> = {
  userPath: '/rotated/',
  rotateUsersAtRootPath: 'false',
  vaultAuthMethod: 'aws',
  vaultAppRoleRoleId: '',
  vaultAppRoleSecretIdArn: '',
  vaultTokenSecretArn: '',
  vaultTokenParameter: '',
  vaultWriterAppRoleRoleId: '',
  vaultWriterAppRoleSecretIdArn: '',
  vaultWriterTokenSecretArn: '',
  vaultWriterTokenParameter: '',
  vaultCaParameter: '',
  vaultClientCertSecretArn: '',
  vaultSecretsKmsKeyArn: '',
  keyAdministratorArn: '',
  vpcSubnetIds: '',
  vpcSecurityGroupIds: '',
  alertEmail: '',
  outOfBandAlerts: 'auto',
  httpTrigger: 'false',
  graceSeconds: '900',
  minGraceSeconds: '600',
  minRecoverySeconds: '3600',
  inUseMarginSeconds: '360',
  allowOldKeyInUseProceed: 'false',
  allowVaultPathMove: 'false',
  allowDeleteInactiveKey: 'false',
  allowVaultPathAdopt: 'false',
  allowedAccountIds: '',
  targetRoleName: 'iam-key-rotator-target',
  targetExternalId: '',
  vaultPathTemplate: '{prefix}{userName}',
  maxDuePerAccount: '1000',
  fleetResultsRetentionDays: '30',
  organizationId: '',
  httpTriggerInvokers: '',
  httpTriggerRateLimit: '1',
  httpTriggerBurstLimit: '5',
  httpTriggerLogRole: 'create',
  keyAgeAlarmSlackDays: '7',
  logRetentionDays: '30',
  vaultPathPrefix: 'aws/iam-users/',
  vaultKvVersion: 'auto',
};

/** serverless.yml's `custom.fleetRotation`, which deploy/template.cjs reads for the key-age alarm. */
export const FLEET_ROTATION = { schedule: 'rate(1 day)', enabled: true, input: { maxKeyAgeDays: 90 } };

/**
 * What serverless hands deploy/template.cjs: these parameters over the defaults (`fleetRotation`
 * stands for `custom.fleetRotation`); an unknown one is a test bug.
 */
export function templateContext(params: Record<string, unknown>, region = 'us-east-1') {
  return {
    resolveVariable: async (address: string) => {
      if (address === 'self:service') return 'iam-key-rotator';
      if (address === 'sls:stage') return 'dev';
      if (address === 'aws:region') return region;
      if (address === 'self:custom.fleetRotation') return params.fleetRotation ?? FLEET_ROTATION;
      if (address === 'self:custom.rotations') return params.rotations ?? [];
      const name = address.replace(/^param:/, '');
      if (!(name in TEMPLATE_PARAMS)) throw new Error(`unexpected variable ${address}`);
      return params[name] ?? TEMPLATE_PARAMS[name];
    },
  };
}
