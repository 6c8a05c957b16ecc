// Issue 18 item 5, deployment hardening: the users' path can't widen the grants (`*`, `?`, `/`
// without rotateUsersAtRootPath), at `/` every grant on a user requires the opt-in tag; the
// schedules' and the HTTP trigger's roles trust their service for this account and these resources
// only; the framework's deployment bucket is versioned and never public.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FLEET_FUNCTIONS, FUNCTIONS, OPT_IN_TAG_KEY, type Statement } from '../../deploy/policies.cjs';
import { resources } from '../../deploy/template.cjs';
import {
  actions,
  fromCloudFormation,
  packageService,
  pascal,
  roleStatements,
  templateContext,
  type Resource,
} from './template.js';

const OPTED_IN = { [`aws:ResourceTag/${OPT_IN_TAG_KEY}`]: 'true' };

const template = async (params: Record<string, unknown>) =>
  (await resources(templateContext(params))).Resources as Record<string, Resource>;

/** Every function role's statements (the fleet's too) naming a user ARN under `${UserPath}`. */
function userStatements(all: Record<string, Resource>): { fn: string; statement: Statement }[] {
  return [...FUNCTIONS, ...FLEET_FUNCTIONS].flatMap((fn) =>
    roleStatements(all, `${pascal(fn)}Role`)
      .filter((s) => JSON.stringify(fromCloudFormation(s.Resource)).includes(':user${UserPath}'))
      .map((statement) => ({ fn, statement })),
  );
}

const tagCondition = (s: Statement) =>
  (s.Condition as { StringEquals?: Record<string, unknown> } | undefined)?.StringEquals?.[
    `aws:ResourceTag/${OPT_IN_TAG_KEY}`
  ];

describe('userPath (deploy/template.cjs)', () => {
  it('refuses * and ? in userPath, naming it: they would be wildcards in every user ARN', async () => {
    for (const userPath of ['/*/', '/rotated*/', '/a?/']) {
      await expect(template({ userPath }), userPath).rejects.toThrow(`userPath '${userPath}' holds * or ?`);
    }
    await expect(template({ userPath: 'rotated/' })).rejects.toThrow(
      "userPath 'rotated/' is not an IAM path",
    );
  });

  it('refuses / without rotateUsersAtRootPath, naming userPath, and the switch where it cannot apply', async () => {
    await expect(template({ userPath: '/' })).rejects.toThrow(
      "userPath '/' reaches every IAM user of the account, administrators included",
    );
    await expect(template({ rotateUsersAtRootPath: 'true' })).rejects.toThrow(
      "rotateUsersAtRootPath needs userPath '/', not '/rotated/'",
    );
    await expect(
      template({
        userPath: '/',
        rotateUsersAtRootPath: 'true',
        allowedAccountIds: '111111111111',
        targetExternalId: 'external-id',
        vaultPathTemplate: '{prefix}{accountId}/{userName}',
      }),
    ).rejects.toThrow('rotateUsersAtRootPath works in this account only');
    await expect(template({ rotateUsersAtRootPath: 'yes' })).rejects.toThrow(
      "rotateUsersAtRootPath is one of true, false, not 'yes'",
    );
  });

  it('at / with the switch, makes every grant on a user require the opt-in tag, but the listing (ListUsers)', async () => {
    const found = userStatements(await template({ userPath: '/', rotateUsersAtRootPath: 'true' }));
    const listing = found.filter(({ statement }) => actions(statement).includes('iam:ListUsers'));
    expect(listing.map(({ fn }) => fn)).toEqual(['listCandidates']);
    const onUsers = found.filter((f) => !listing.includes(f));
    // createKey, verifyKey, deactivateOld, deleteOld, discardNewKey, discardLeftovers: every statement on a user.
    expect(new Set(onUsers.map(({ fn }) => fn))).toEqual(
      new Set(['createKey', 'verifyKey', 'deactivateOld', 'deleteOld', 'discardNewKey', 'discardLeftovers']),
    );
    for (const { fn, statement } of onUsers) {
      expect(tagCondition(statement), `${fn} ${statement.Sid}`).toBe('true');
      expect(fromCloudFormation(statement.Condition), `${fn} ${statement.Sid}`).toMatchObject({
        StringEquals: OPTED_IN,
      });
    }
    // The tag writers keep their tag-key limit besides.
    const tagging = onUsers.filter(({ statement }) => actions(statement).includes('iam:TagUser'));
    expect(tagging.length).toBe(2);
    for (const { statement } of tagging) {
      expect(statement.Condition).toHaveProperty(['ForAllValues:StringEquals', 'aws:TagKeys']);
    }
  });

  it('in a path of its own, grants on the users as before: no tag condition', async () => {
    const found = userStatements(await template({}));
    expect(found.length).toBeGreaterThan(5);
    for (const { statement } of found) expect(tagCondition(statement)).toBeUndefined();
  });
});

describe('the fleet input at / (deploy/fleet-schedule.cjs)', () => {
  type FleetSchedule = (sls: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown[]>;
  const fleetSchedule = createRequire(import.meta.url)('../../deploy/fleet-schedule.cjs') as FleetSchedule;
  const run = (input: unknown, atRoot: boolean) =>
    fleetSchedule({
      resolveVariable: async (variable: string) => {
        if (variable === 'self:custom.fleetRotation') return { input };
        if (variable === 'self:service') return 'iam-key-rotator';
        if (variable === 'sls:stage') return 'dev';
        if (variable.startsWith('param:rotateUsersAtRootPath')) return atRoot;
        const fallback = variable.split(/\s*,\s*/)[1];
        if (fallback !== undefined) return JSON.parse(fallback) as unknown;
        throw new Error(`cannot resolve ${variable}`);
      },
    });

  it('refuses allUsersInPath or another tag with rotateUsersAtRootPath: those users could only fail', async () => {
    await expect(run({ allUsersInPath: true }, true)).rejects.toThrow(
      'invalid custom.fleetRotation.input: allUsersInPath: rotateUsersAtRootPath rotates opted-in users only',
    );
    await expect(run({ tagKey: 'team', tagValue: 'a' }, true)).rejects.toThrow(
      'tagKey: rotateUsersAtRootPath selects by iam-key-rotator:rotate only; tagValue: rotateUsersAtRootPath selects by true only',
    );
    await expect(run({ tagKey: OPT_IN_TAG_KEY, tagValue: 'true' }, true)).resolves.toHaveLength(1);
    await expect(run({ allUsersInPath: true }, false)).resolves.toHaveLength(1);
  });
});

describe('service roles (deploy/schedule-roles.cjs, deploy/http-trigger.cjs)', () => {
  const trustOf = (r: Resource | undefined) =>
    (r?.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;

  it('lets EventBridge assume the schedules’ roles only for this account and these rules, to start their machine', async () => {
    const all = await template({ rotations: [{ userName: 'ci' }] });
    for (const [role, rule, machine] of [
      ['FleetScheduleRole', 'rule/iam-key-rotator-fleet-dev-schedule', 'RotateFleetStateMachine'],
      ['RotationScheduleRole', 'rule/iam-key-rotator-dev-rotation-*', 'RotateAccessKeyStateMachine'],
    ] as const) {
      expect(trustOf(all[role])).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: {
              'aws:SourceArn': {
                'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:${rule}`,
              },
            },
          },
        },
      ]);
      expect(roleStatements(all, role)).toEqual([
        { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machine } },
      ]);
    }
    expect(await template({ rotations: [] })).not.toHaveProperty('RotationScheduleRole');
  });

  it('lets API Gateway assume the trigger’s role for this account and API, where it sends the keys', async () => {
    const [statement] = trustOf((await template({ httpTrigger: 'true' })).HttpTriggerRole);
    expect(statement?.Principal).toEqual({ Service: 'apigateway.amazonaws.com' });
    expect(statement?.Condition).toEqual({
      StringEqualsIfExists: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLikeIfExists: {
        'aws:SourceArn': {
          'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RotationsApi}/*',
        },
      },
    });
  });
});

describe('serverless package', () => {
  it('fails on --param userPath=/ without rotateUsersAtRootPath, naming userPath', async () => {
    const failure = await packageService({ userPath: '/' }).then(
      () => undefined,
      (e: unknown) => e as { stdout?: string; stderr?: string },
    );
    expect(failure, 'serverless package succeeded').toBeDefined();
    expect(`${failure?.stdout ?? ''}${failure?.stderr ?? ''}`).toContain(
      "deployment parameters: userPath '/' reaches every IAM user of the account",
    );
  }, 150_000);

  it('with the switch, puts the tag condition on every user-level grant; the deployment bucket is versioned and never public; the schedules use the roles above', async () => {
    const { resources: all } = await packageService({ userPath: '/', rotateUsersAtRootPath: 'true' });
    const found = userStatements(all);
    expect(found.length).toBeGreaterThan(5);
    const listing = found.filter(({ statement }) => actions(statement).includes('iam:ListUsers'));
    expect(listing.map(({ fn }) => fn)).toEqual(['listCandidates']);
    for (const { fn, statement } of found.filter((f) => !listing.includes(f))) {
      expect(tagCondition(statement), `${fn} ${statement.Sid}`).toBe('true');
    }
    expect(all.ServerlessDeploymentBucket?.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    // The plugin makes no role of its own; every schedule rule is named as its role's trust says.
    expect(Object.keys(all).filter((id) => id.endsWith('ScheduleToStepFunctionsRole'))).toEqual([]);
    const rules = Object.values(all).filter(
      (r) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression,
    );
    expect(rules.length).toBe(3);
    for (const rule of rules) {
      const [target] = rule.Properties.Targets as { RoleArn: unknown }[];
      const name = String(rule.Properties.Name);
      expect(name).toMatch(/^iam-key-rotator-(dev-rotation-\d+|fleet-dev-schedule)$/);
      expect(target?.RoleArn).toEqual({
        'Fn::GetAtt': [name.includes('fleet') ? 'FleetScheduleRole' : 'RotationScheduleRole', 'Arn'],
      });
    }
  }, 150_000);
});
