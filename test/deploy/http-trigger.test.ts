// The HTTP trigger (deploy/http-trigger.cjs) from deploy/template.cjs called as serverless calls it:
// a body model carrying the input schema's path and account rules (checked against the zod rules on
// generated strings), the API's resource policy, stage throttling, the access log, and the
// parameters refused at package time. The packaged template is checked in configured.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isServablePath, UserName } from '../../functions/commons/input.js';
import { ACCESS_LOG_FORMAT, servablePathPattern } from '../../deploy/http-trigger.cjs';
import { resources } from '../../deploy/template.cjs';
import { type Resource, templateContext } from './template.js';

const ON = { httpTrigger: 'true' };
const ACCOUNTS = {
  allowedAccountIds: '222222222222,333333333333',
  targetExternalId: 'rotator-ext-id',
  vaultPathTemplate: '{prefix}{accountId}/{userName}',
};
const CALLER = 'arn:aws:iam::222222222222:role/deployer';

async function build(params: Record<string, unknown> = {}) {
  return (await resources(templateContext({ ...ON, ...params }))).Resources as Record<string, Resource>;
}

interface Schema {
  properties: Record<string, { type: string; pattern?: string; enum?: unknown[]; maxLength?: number }>;
}
const schemaOf = (r: Record<string, Resource>) => r.RotationsApiInputModel?.Properties.Schema as Schema;
interface Statement {
  Sid: string;
  Effect: string;
  Principal: unknown;
  Action: string;
  Resource: string;
  Condition?: Record<string, Record<string, unknown>>;
}
const policyOf = (r: Record<string, Resource>) =>
  (r.RotationsApi?.Properties.Policy as { Statement: Statement[] }).Statement;
const stageOf = (r: Record<string, Resource>) => r.RotationsApiStage as Resource;

/** Strings near Vault paths: their characters, slashes, dots, and a few that are never allowed. */
const pathLike = (prefix: string) =>
  fc
    .tuple(
      fc.boolean(),
      fc.array(
        fc.constantFrom('a', 'Z', '0', '_', '.', '/', '@', '+', '=', ',', '-', ' ', '~', 'é', '\n', '*'),
        {
          maxLength: 24,
        },
      ),
    )
    .map(([prefixed, chars]) => `${prefixed ? prefix : ''}${chars.join('')}`);

describe('the body model (RotationsApiInputModel)', () => {
  it.each(['aws/iam-users/', 'a.b+c(d)/', 'team-x'])(
    'accepts exactly the Vault paths the rotator may serve below the prefix %s (isServablePath)',
    (prefix) => {
      const pattern = new RegExp(servablePathPattern(prefix));
      fc.assert(
        fc.property(pathLike(prefix), (path) => {
          expect(pattern.test(path) && path.length <= 256, JSON.stringify(path)).toBe(
            isServablePath(path, prefix),
          );
        }),
        { numRuns: 2000 },
      );
      // The cases that matter, whatever the generator draws.
      for (const path of [
        `${prefix}x`,
        `${prefix}./x`,
        `${prefix}../x`,
        `${prefix}...`,
        `${prefix}a//b`,
        prefix,
        `x${prefix}y`,
      ]) {
        expect(pattern.test(path), path).toBe(isServablePath(path, prefix));
      }
    },
  );

  it('carries the deployment’s prefix, the 256-character limit and the user-name rule', async () => {
    const { properties } = schemaOf(await build());
    expect(properties.vaultPath).toMatchObject({
      type: 'string',
      maxLength: 256,
      pattern: servablePathPattern('aws/iam-users/'),
    });
    const { properties: other } = schemaOf(await build({ vaultPathPrefix: 'secret/keys/' }));
    expect(other.vaultPath?.pattern).toBe(servablePathPattern('secret/keys/'));
    const name = new RegExp(properties.userName?.pattern ?? '');
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (value) => {
        expect(name.test(value)).toBe(UserName.safeParse(value).success);
      }),
    );
  });

  it('allows the accounts this deployment may rotate in: its own (known at deployment) and allowedAccountIds', async () => {
    expect(schemaOf(await build()).properties.accountId).toMatchObject({
      pattern: '^\\d{12}$',
      enum: [{ Ref: 'AWS::AccountId' }],
    });
    expect(schemaOf(await build(ACCOUNTS)).properties.accountId?.enum).toEqual([
      { Ref: 'AWS::AccountId' },
      '222222222222',
      '333333333333',
    ]);
  });
});

describe('the API’s resource policy', () => {
  it('by default lets no principal outside the account invoke, and grants nobody inside (IAM decides there)', async () => {
    expect(policyOf(await build())).toEqual([
      {
        Sid: 'NobodyElse',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringNotEquals: { 'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }] } },
      },
    ]);
  });

  it('lets httpTriggerInvokers’ principals, accounts and Organization invoke POST /rotations, and denies everyone else', async () => {
    const statements = policyOf(await build({ httpTriggerInvokers: `${CALLER}, 333333333333,o-abcdefghij` }));
    const method = 'execute-api:/dev/POST/rotations';
    expect(statements).toEqual([
      {
        Sid: 'NamedInvokers',
        Effect: 'Allow',
        Principal: { AWS: [CALLER, { 'Fn::Sub': 'arn:${AWS::Partition}:iam::333333333333:root' }] },
        Action: 'execute-api:Invoke',
        Resource: method,
      },
      {
        Sid: 'OrganizationInvokers',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: method,
        // In this account a principal still needs its own IAM grant.
        Condition: {
          StringEquals: { 'aws:PrincipalOrgID': ['o-abcdefghij'] },
          StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } },
        },
      },
      {
        Sid: 'NobodyElse',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: {
          StringNotEquals: {
            'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }, '333333333333'],
            'aws:PrincipalOrgID': ['o-abcdefghij'],
          },
          ArnNotEquals: { 'aws:PrincipalArn': [CALLER] },
        },
      },
    ]);
  });

  it('redeploys the API when the policy changes (it takes effect only once deployed)', async () => {
    const deployment = (r: Record<string, Resource>) =>
      Object.keys(r).find((id) => r[id]?.Type === 'AWS::ApiGateway::Deployment');
    const before = deployment(await build());
    const after = deployment(await build({ httpTriggerInvokers: CALLER }));
    expect(before).toMatch(/^RotationsApiDeployment/);
    expect(after).not.toBe(before);
  });
});

describe('the stage', () => {
  it('throttles every method at httpTriggerRateLimit and httpTriggerBurstLimit (1 and 5 by default)', async () => {
    const settings = (r: Record<string, Resource>) => stageOf(r).Properties.MethodSettings;
    expect(settings(await build())).toEqual([
      { ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 },
    ]);
    expect(settings(await build({ httpTriggerRateLimit: '0.5', httpTriggerBurstLimit: '2' }))).toEqual([
      { ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 0.5, ThrottlingBurstLimit: 2 },
    ]);
  });

  it('logs every request to a log group of its own kept logRetentionDays, one JSON line each', async () => {
    const r = await build();
    expect(stageOf(r).Properties.AccessLogSetting).toEqual({
      DestinationArn: { 'Fn::GetAtt': ['RotationsApiAccessLogs', 'Arn'] },
      Format: ACCESS_LOG_FORMAT,
    });
    expect(r.RotationsApiAccessLogs).toEqual({
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: '/aws/apigateway/iam-key-rotator-dev/access', RetentionInDays: 30 },
    });
    expect((await build({ logRetentionDays: '90' })).RotationsApiAccessLogs?.Properties.RetentionInDays).toBe(
      90,
    );
    const line = JSON.parse(ACCESS_LOG_FORMAT) as Record<string, string>;
    expect(line).toMatchObject({
      requestId: '$context.requestId',
      userArn: '$context.identity.userArn',
      status: '$context.status',
      validationError: '$context.error.validationErrorString',
    });
    // No body: the access log holds no execution input.
    expect(ACCESS_LOG_FORMAT).not.toMatch(/\$input|requestBody/);
  });

  it('sets the region’s API Gateway logging role with httpTriggerLogRole create, kept when the stack goes', async () => {
    const r = await build();
    expect(stageOf(r).DependsOn).toEqual(['ApiGatewayAccount']);
    expect(r.ApiGatewayAccount).toMatchObject({
      Type: 'AWS::ApiGateway::Account',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': ['ApiGatewayCloudWatchRole', 'Arn'] } },
    });
    const role = r.ApiGatewayCloudWatchRole as Resource & { DeletionPolicy?: string };
    expect(role.DeletionPolicy).toBe('Retain');
    const statements = (
      role.Properties.Policies as { PolicyDocument: { Statement: { Resource: unknown }[] } }[]
    ).flatMap((p) => p.PolicyDocument.Statement);
    // Logs of this account and region only, never every account's.
    expect(statements.map((s) => s.Resource)).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*' },
    ]);
    const existing = await build({ httpTriggerLogRole: 'existing' });
    expect(existing.ApiGatewayAccount).toBeUndefined();
    expect(existing.ApiGatewayCloudWatchRole).toBeUndefined();
    expect(stageOf(existing).DependsOn).toBeUndefined();
  });
});

describe('the HTTP trigger’s parameters, refused at package time', () => {
  it.each([
    [
      { httpTriggerInvokers: 'arn:aws:iam::222222222222:group/ops' },
      "httpTriggerInvokers: 'arn:aws:iam::222222222222:group/ops' is neither",
    ],
    [{ httpTriggerInvokers: '*' }, "httpTriggerInvokers: '*' is neither"],
    [{ httpTriggerInvokers: '2222' }, "httpTriggerInvokers: '2222' is neither"],
    [
      { httpTriggerRateLimit: '0' },
      "httpTriggerRateLimit is a number of requests per second above 0, at most 10000, not '0'",
    ],
    [{ httpTriggerRateLimit: 'fast' }, 'httpTriggerRateLimit is a number'],
    [{ httpTriggerBurstLimit: '0' }, "httpTriggerBurstLimit is a whole number from 1 to 5000, not '0'"],
    [{ httpTriggerBurstLimit: '5001' }, 'httpTriggerBurstLimit is a whole number from 1 to 5000'],
    [{ httpTriggerLogRole: 'maybe' }, "httpTriggerLogRole is one of create, existing, not 'maybe'"],
    [{ logRetentionDays: '31' }, "logRetentionDays is one of CloudWatch Logs' 1, 3, 5"],
  ])('refuses %j', async (params, message) => {
    await expect(build(params)).rejects.toThrow(message);
  });

  it('refuses httpTriggerInvokers without the trigger: an option that cannot apply', async () => {
    await expect(resources(templateContext({ httpTriggerInvokers: CALLER }))).rejects.toThrow(
      'httpTriggerInvokers needs httpTrigger: true',
    );
  });

  it('checks the others with the trigger off too: a typo fails now, not the day it is turned on', async () => {
    await expect(resources(templateContext({ httpTriggerBurstLimit: 'lots' }))).rejects.toThrow(
      'httpTriggerBurstLimit is a whole number from 1 to 5000',
    );
    await expect(resources(templateContext({ httpTriggerLogRole: 'none' }))).rejects.toThrow(
      "httpTriggerLogRole is one of create, existing, not 'none'",
    );
  });
});
