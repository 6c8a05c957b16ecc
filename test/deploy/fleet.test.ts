// Fleet rotation's deployment, from deploy/template.cjs called as serverless calls it (no
// packaging): the fleet machine's and the discovery function's roles, the callback grant, the
// alerts, the out-of-band change rule and the optional HTTP trigger. The packaged template (with
// the state machines themselves) is checked in package.test.ts and configured.test.ts.
import { createRequire } from 'node:module';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { FLEET_FUNCTIONS, FUNCTIONS, FUNCTION_STATEMENTS, type Statement } from '../../deploy/policies.cjs';
import { resources } from '../../deploy/template.cjs';
import { ExecutionInput } from '../../functions/commons/input.js';
import { actions, fromCloudFormation, pascal, type Resource, templateContext } from './template.js';

/** The template's resources for these parameters, deployed in `region`. */
async function build(params: Record<string, string> = {}, region = 'us-east-1') {
  const { Resources } = await resources(templateContext(params, region));
  return Resources as Record<string, Resource>;
}

const policyStatements = (role: Resource | undefined) =>
  fromCloudFormation(
    (role?.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    ),
  ) as Statement[];

const MACHINE =
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${Service}-${Stage}';
const USERS = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user${UserPath}*';
const RUNTIME = /^(logs|xray):/;

interface Rule {
  EventPattern: Record<string, unknown> & { detail: Record<string, unknown> };
  Targets: {
    Arn: unknown;
    InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
  }[];
}
const rule = (r: Resource | undefined) => r?.Properties as unknown as Rule;

describe('fleet roles (deploy/policies.cjs rendered by deploy/template.cjs)', () => {
  it('gives listCandidates read-only IAM on the rotated users path, summarizeFleet its children’s descriptions, reportToFleet the task answers only', async () => {
    const r = await build();
    const own = (fn: string) =>
      policyStatements(r[`${pascal(fn)}Role`]).filter((s) => !actions(s).every((a) => RUNTIME.test(a)));
    expect(own('listCandidates')).toEqual([
      {
        Sid: 'ReadRotatedUsers',
        Effect: 'Allow',
        Action: ['iam:ListUsers', 'iam:ListUserTags', 'iam:ListAccessKeys'],
        Resource: USERS,
      },
    ]);
    // Read-only: every action is a List.
    expect(
      own('listCandidates')
        .flatMap(actions)
        .every((a) => /^iam:List/.test(a)),
    ).toBe(true);
    // Only the rotation machine's executions: a fleet's children, never the fleet's own or another machine's.
    expect(own('summarizeFleet')).toEqual([
      {
        Sid: 'DescribeChildren',
        Effect: 'Allow',
        Action: 'states:DescribeExecution',
        Resource:
          'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Service}-${Stage}:*',
      },
    ]);
    // Its signing-key grant sits in a policy of its own (the key policies name its role): verify, never sign.
    expect(
      fromCloudFormation(
        (r.ListCandidatesSigningKeyUse?.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
      ),
    ).toEqual([
      {
        Sid: 'VerifyTags',
        Effect: 'Allow',
        Action: 'kms:VerifyMac',
        Resource: ['${PinKeyArn}', '${ClaimKeyArn}'],
        Condition: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
      },
    ]);
    // Task tokens name no resource, so the answers are allowed on `*`.
    expect(own('reportToFleet')).toEqual([
      {
        Sid: 'AnswerFleetTasks',
        Effect: 'Allow',
        Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        Resource: '*',
      },
    ]);
    // planFleet and writeFleetManifest: nothing of their own beyond logs and traces (writeFleetManifest's
    // bucket grant sits in a policy of its own, checked below).
    expect(own('planFleet')).toEqual([]);
    expect(own('writeFleetManifest')).toEqual([]);
    expect(FLEET_FUNCTIONS).toEqual([
      'planFleet',
      'listCandidates',
      'writeFleetManifest',
      'summarizeFleet',
      'reportToFleet',
    ]);
  });

  it('gives each fleet step only its own kinds of object in the fleet bucket, sealed with its key through S3', async () => {
    const r = await build();
    const use = (fn: string) =>
      fromCloudFormation(
        (r[`${pascal(fn)}FleetBucketUse`]?.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
      ) as Statement[];
    const objects = (...kinds: string[]) =>
      kinds.map((kind) => `arn:\${AWS::Partition}:s3:::\${FleetBucket}/runs/*/${kind}`);
    const viaS3 = { StringEquals: { 'kms:ViaService': 's3.${AWS::Region}.amazonaws.com' } };
    const grants = (fn: string) => use(fn).map((s) => [actions(s), [s.Resource].flat(), s.Condition]);
    expect(grants('listCandidates')).toEqual([
      [['s3:PutObject'], objects('due/*', 'accounts/*'), undefined],
      [['kms:GenerateDataKey'], ['${FleetBucketKeyArn}'], viaS3],
    ]);
    expect(grants('writeFleetManifest')).toEqual([
      [['s3:PutObject'], objects('due.manifest'), undefined],
      [['kms:GenerateDataKey'], ['${FleetBucketKeyArn}'], viaS3],
    ]);
    expect(grants('summarizeFleet')).toEqual([
      [['s3:GetObject'], objects('results/*', 'accounts/*'), undefined],
      [['s3:PutObject'], objects('summary.json'), undefined],
      [['kms:Decrypt', 'kms:GenerateDataKey'], ['${FleetBucketKeyArn}'], viaS3],
    ]);
    expect(grants('fleetStateMachine')).toEqual([
      [['s3:GetObject'], objects('due.manifest', 'due/*'), undefined],
      [
        ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        objects('results/*'),
        undefined,
      ],
      [['kms:Decrypt', 'kms:GenerateDataKey'], ['${FleetBucketKeyArn}'], viaS3],
    ]);
    // Nothing of the bucket in the per-user machine's steps.
    for (const fn of FUNCTIONS) expect(r[`${pascal(fn)}FleetBucketUse`]).toBeUndefined();
  });

  it('lets the fleet machine start rotations and its own child workflows only, invoke its four steps, log and trace', async () => {
    const r = await build();
    const statements = policyStatements(r.FleetStateMachineRole);
    const states = statements.filter((s) => actions(s).some((a) => a.startsWith('states:')));
    const FLEET =
      'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${Service}-fleet-${Stage}';
    // The Distributed Map starts its child workflows as executions of the fleet machine itself and
    // describes and stops them; only those, never another machine's executions.
    expect(states.map((s) => [actions(s), s.Resource])).toEqual([
      [['states:StartExecution'], MACHINE],
      [['states:StartExecution'], FLEET],
      [
        ['states:DescribeExecution', 'states:StopExecution'],
        'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Service}-fleet-${Stage}/*',
      ],
    ]);
    const invoke = statements.filter((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(invoke.flatMap((s) => [s.Resource].flat())).toEqual(
      ['planFleet', 'listCandidates', 'writeFleetManifest', 'summarizeFleet'].map(
        (fn) =>
          `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:\${Service}-\${Stage}-${fn}`,
      ),
    );
    const rest = statements.filter((s) => !states.includes(s) && !invoke.includes(s)).flatMap(actions);
    expect(rest.every((a) => RUNTIME.test(a))).toBe(true);
    // No iam:, no events: (a .waitForTaskToken start needs no managed rule).
    expect(statements.flatMap(actions).filter((a) => /^(iam|events)/.test(a))).toEqual([]);
  });

  it('lets only Step Functions, for the fleet machine in this account, assume the fleet role', async () => {
    const r = await build();
    const trust = fromCloudFormation(r.FleetStateMachineRole?.Properties.AssumeRolePolicyDocument);
    expect(trust).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' },
            ArnEquals: {
              'aws:SourceArn':
                'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${Service}-fleet-${Stage}',
            },
          },
        },
      ],
    });
  });

  it('lets the rotation machine signal the fleet with SendTaskSuccess only (task tokens name no resource)', async () => {
    const r = await build();
    const statements = policyStatements(r.StateMachineRole);
    const states = statements.filter((s) => actions(s).some((a) => a.startsWith('states:')));
    expect(states).toEqual([
      { Sid: 'SignalFleet', Effect: 'Allow', Action: 'states:SendTaskSuccess', Resource: '*' },
    ]);
  });

  it('hands every ended rotation to reportToFleet, through a rule only it may be invoked by', async () => {
    const r = await build();
    const { EventPattern, Targets } = rule(r.FleetReportRule);
    expect(EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [{ Ref: 'RotateAccessKeyStateMachine' }],
      },
    });
    expect(Targets.map((t) => t.Arn)).toEqual([{ 'Fn::GetAtt': ['ReportToFleetLambdaFunction', 'Arn'] }]);
    expect(r.FleetReportPermission?.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['ReportToFleetLambdaFunction', 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['FleetReportRule', 'Arn'] },
    });
  });
});

describe('alerts', () => {
  it('publishes to one topic under a key of its own that only the rules and alarms may use', async () => {
    const r = await build();
    expect(r.AlertTopic?.Properties).toMatchObject({
      TopicName: 'iam-key-rotator-dev-alerts',
      KmsMasterKeyId: { Ref: 'AlertTopicKey' },
    });
    expect(r.AlertTopic?.Properties.Subscription).toBeUndefined();
    const key = r.AlertTopicKey?.Properties.KeyPolicy as { Statement: Statement[] };
    const users = key.Statement.filter((s) => s.Effect === 'Allow' && actions(s).includes('kms:Decrypt'));
    expect(users.map((s) => [s.Principal, actions(s).sort()])).toEqual([
      [{ Service: 'events.amazonaws.com' }, ['kms:Decrypt', 'kms:GenerateDataKey*']],
      [{ Service: 'cloudwatch.amazonaws.com' }, ['kms:Decrypt', 'kms:GenerateDataKey*']],
    ]);
    // EventBridge's key requests carry no source keys: a condition there would drop every alert.
    expect(users[0]?.Condition).toBeUndefined();
    expect(users[1]?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('subscribes alertEmail when given', async () => {
    const r = await build({ alertEmail: 'ops@example.com' });
    expect(r.AlertTopic?.Properties.Subscription).toEqual([
      { Protocol: 'email', Endpoint: 'ops@example.com' },
    ]);
  });

  it('lets only the alert rules (by aws:SourceArn) and the three alarms publish to the topic', async () => {
    const r = await build();
    const policy = r.AlertTopicPolicy?.Properties as {
      Topics: unknown[];
      PolicyDocument: { Statement: (Statement & { Resource: unknown })[] };
    };
    expect(policy.Topics).toEqual([{ Ref: 'AlertTopic' }]);
    const [events, alarms, ...others] = policy.PolicyDocument.Statement;
    expect(others).toEqual([]);
    expect(events).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: 'AlertTopic' },
      Condition: {
        ArnEquals: {
          'aws:SourceArn': [
            { 'Fn::GetAtt': ['ExecutionFailedRule', 'Arn'] },
            { 'Fn::GetAtt': ['PinTamperRule', 'Arn'] },
            // deploy/tamper-rules.cjs's, then (where IAM's events arrive) the out-of-band rule.
            ...[
              'KeyTamperRule',
              'FunctionTamperRule',
              'StateMachineTamperRule',
              'FleetBucketTamperRule',
              'RoleTamperRule',
              'RotatorTagTamperRule',
              'OutOfBandChangeRule',
            ].map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
          ],
        },
      },
    });
    expect(alarms?.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    const alarmArns = fromCloudFormation(alarms?.Condition?.ArnEquals?.['aws:SourceArn']) as string[];
    const names = ['RotationFailedAlarm', 'FleetFailedAlarm', 'KeyAgeAlarm'].map(
      (id) => r[id]?.Properties.AlarmName as string,
    );
    expect(alarmArns).toEqual(
      names.map((n) => `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${n}`),
    );
  });

  it('sends failed, timed-out and aborted executions of both machines to the topic with what an operator needs', async () => {
    const r = await build();
    const { EventPattern, Targets } = rule(r.ExecutionFailedRule);
    expect(EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [{ Ref: 'RotateAccessKeyStateMachine' }, { Ref: 'RotateFleetStateMachine' }],
      },
    });
    expect(Targets).toHaveLength(1);
    const [target] = Targets;
    expect(target?.Arn).toEqual({ Ref: 'AlertTopic' });
    expect(target?.InputTransformer.InputPathsMap).toMatchObject({
      execution: '$.detail.executionArn',
      error: '$.detail.error',
    });
    // The execution input carries a fleet's task token: it never goes into an e-mail.
    expect(target?.InputTransformer.InputPathsMap).not.toHaveProperty('input');
    const template = target?.InputTransformer.InputTemplate ?? '';
    for (const placeholder of ['<name>', '<status>', '<error>', '<cause>']) {
      expect(template).toContain(placeholder);
    }
    expect(template).toContain(
      'console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<execution>',
    );
    // Every placeholder has a path.
    for (const [, name] of template.matchAll(/<(\w+)>/g)) {
      expect(target?.InputTransformer.InputPathsMap).toHaveProperty(name ?? '');
    }
  });

  it('alarms on ExecutionsFailed of each machine, to the topic', async () => {
    const r = await build();
    for (const [id, machine] of [
      ['RotationFailedAlarm', 'RotateAccessKeyStateMachine'],
      ['FleetFailedAlarm', 'RotateFleetStateMachine'],
    ] as const) {
      expect(r[id]?.Properties).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlertTopic' }],
      });
    }
  });
});

describe('out-of-band changes (CloudTrail)', () => {
  it('alerts on key changes (OutOfBandChangeRule) and rotator-tag changes (RotatorTagTamperRule) by anyone but the rotator’s roles that make them', async () => {
    const r = await build();
    const { EventPattern, Targets } = rule(r.OutOfBandChangeRule);
    const tags = rule(r.RotatorTagTamperRule).EventPattern;
    for (const pattern of [EventPattern, tags]) {
      expect(pattern.source).toEqual(['aws.iam']);
      expect(pattern['detail-type']).toEqual(['AWS API Call via CloudTrail']);
    }
    type Detail = {
      eventSource: string[];
      eventName?: string[];
      $or?: { eventName: string[]; requestParameters?: unknown }[];
      userIdentity: {
        $or: [
          { type: unknown },
          { sessionContext: { sessionIssuer: { arn: [{ 'anything-but': unknown[] }] } } },
        ];
      };
    };
    const detail = EventPattern.detail as Detail;
    const tagDetail = tags.detail as Detail;
    expect(detail.eventSource).toEqual(['iam.amazonaws.com']);
    expect(tagDetail.eventSource).toEqual(['iam.amazonaws.com']);
    expect(detail.eventName).toEqual(['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey']);
    expect((tagDetail.$or ?? []).flatMap((branch) => branch.eventName)).toEqual(['TagUser', 'UntagUser']);
    // Tag changes only on the rotator's tags.
    expect(JSON.stringify(tagDetail.$or)).toContain('"prefix":"iam-key-rotator:"');
    // Both exclude the same writers.
    expect(tagDetail.userIdentity).toEqual(detail.userIdentity);
    // Users, root and federated callers always; roles unless they are the rotator's.
    const [notRole, role] = detail.userIdentity.$or;
    expect(notRole.type).toEqual([{ 'anything-but': 'AssumedRole' }]);
    const excluded = role.sessionContext.sessionIssuer.arn[0]['anything-but'];
    // Exactly the functions whose policy allows one of the audited calls.
    const audited = /^iam:(CreateAccessKey|UpdateAccessKey|DeleteAccessKey|TagUser|UntagUser)$/;
    const writers = FUNCTIONS.filter((fn) =>
      FUNCTION_STATEMENTS[fn].some((s) => actions(s).some((a) => audited.test(a))),
    );
    expect([...writers].sort()).toEqual([
      'createKey',
      'deactivateOld',
      'deleteOld',
      'discardLeftovers',
      'discardNewKey',
      'verifyKey',
    ]);
    expect(excluded).toEqual(writers.map((fn) => ({ 'Fn::GetAtt': [`${pascal(fn)}Role`, 'Arn'] })));
    expect(Targets).toHaveLength(1);
    expect(Targets[0]?.Arn).toEqual({ Ref: 'AlertTopic' });
    expect(Targets[0]?.InputTransformer.InputPathsMap).toMatchObject({
      event: '$.detail.eventName',
      user: '$.detail.requestParameters.userName',
      actor: '$.detail.userIdentity.arn',
      newKey: '$.detail.responseElements.accessKey.accessKeyId',
    });
    const message = Targets[0]?.InputTransformer;
    for (const [, name] of (message?.InputTemplate ?? '').matchAll(/<(\w+)>/g)) {
      expect(message?.InputPathsMap).toHaveProperty(name ?? '');
    }
  });

  it('exists where IAM’s events arrive: us-east-1 by default, any region with true, none with false', async () => {
    expect((await build({}, 'eu-west-1')).OutOfBandChangeRule).toBeUndefined();
    expect((await build({ outOfBandAlerts: 'true' }, 'eu-west-1')).OutOfBandChangeRule).toBeDefined();
    const off = await build({ outOfBandAlerts: 'false' });
    expect(off.OutOfBandChangeRule).toBeUndefined();
    expect(off.RotatorTagTamperRule).toBeUndefined();
    // The topic policy names only the rules that exist.
    expect(JSON.stringify(off.AlertTopicPolicy)).not.toContain('OutOfBandChangeRule');
    expect(JSON.stringify(off.AlertTopicPolicy)).not.toContain('RotatorTagTamperRule');
    await expect(build({ outOfBandAlerts: 'yes' })).rejects.toThrow(
      "outOfBandAlerts is one of auto, true, false, not 'yes'",
    );
  });
});

describe('HTTP trigger', () => {
  it('is off by default', async () => {
    const r = await build();
    await expect(resources(templateContext({}))).resolves.toMatchObject({ Outputs: {} });
    const on = await resources(templateContext({ httpTrigger: 'true' }));
    expect(on.Outputs.RotationsUrl?.Value).toEqual({
      'Fn::Sub': 'https://${RotationsApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev/rotations',
    });
    expect(Object.keys(r).filter((id) => id.startsWith('Rotations') || id === 'HttpTriggerRole')).toEqual([]);
    await expect(build({ httpTrigger: 'maybe' })).rejects.toThrow('httpTrigger is one of true, false');
  });

  it('serves POST /rotations to signed requests only (AWS_IAM), validating the body, starting the rotation machine', async () => {
    const r = await build({ httpTrigger: 'true' });
    expect(r.RotationsApiResource?.Properties.PathPart).toBe('rotations');
    expect(r.RotationsApiStage?.Properties.StageName).toBe('dev');
    const method = r.RotationsApiPostMethod?.Properties as Record<string, unknown> & {
      Integration: Record<string, unknown>;
    };
    expect(method).toMatchObject({
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestValidatorId: { Ref: 'RotationsApiBodyValidator' },
      RequestModels: { 'application/json': { Ref: 'RotationsApiInputModel' } },
    });
    expect(r.RotationsApiBodyValidator?.Properties.ValidateRequestBody).toBe(true);
    expect(method.Integration).toMatchObject({
      Type: 'AWS',
      IntegrationHttpMethod: 'POST',
      Uri: { 'Fn::Sub': 'arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/StartExecution' },
      Credentials: { 'Fn::GetAtt': ['HttpTriggerRole', 'Arn'] },
      PassthroughBehavior: 'NEVER',
    });
    const request = JSON.stringify(method.Integration.RequestTemplates);
    expect(request).toContain('{"Ref":"RotateAccessKeyStateMachine"}');
    expect(request).toContain("$input.json('$')");
    expect(JSON.stringify(method.Integration.IntegrationResponses)).toContain(
      "$input.path('$.executionArn')",
    );
    // A body the model refuses is a 400 naming every reason.
    expect(r.RotationsApiBadBody?.Properties).toMatchObject({
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
    });
    expect(JSON.stringify(r.RotationsApiBadBody?.Properties.ResponseTemplates)).toContain(
      '$context.error.validationErrorString',
    );
    // API Gateway's role starts executions of the rotation machine and does nothing else.
    expect(policyStatements(r.HttpTriggerRole)).toEqual([
      { Sid: 'StartRotation', Effect: 'Allow', Action: 'states:StartExecution', Resource: MACHINE },
    ]);
  });

  it('validates the body with the execution input schema (from the zod schema) at the deployment’s floors', async () => {
    const r = await build({ httpTrigger: 'true', minGraceSeconds: '600' });
    const schema = r.RotationsApiInputModel?.Properties.Schema as {
      properties: Record<string, { minimum?: number; enum?: string[] }>;
      required: string[];
      additionalProperties: boolean;
    };
    const zodSchema = z.toJSONSchema(ExecutionInput, { target: 'draft-4', io: 'input' }) as typeof schema;
    expect(Object.keys(schema.properties)).toEqual(
      Object.keys(zodSchema.properties).filter((name) => name !== 'fleetTaskToken'),
    );
    expect(Object.keys(schema.properties)).toContain('graceSeconds');
    expect(schema.required).toEqual(['userName']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.userName).toEqual(zodSchema.properties.userName);
    expect(schema.properties.graceSeconds?.minimum).toBe(600);
    expect(schema.properties.recoverySeconds?.minimum).toBe(3600);
    expect(schema.properties.oldKeyInUse?.enum).toEqual(['wait', 'fail']);
    const allowing = await build({ httpTrigger: 'true', allowOldKeyInUseProceed: 'true' });
    const allowed = allowing.RotationsApiInputModel?.Properties.Schema as typeof schema;
    expect(allowed.properties.oldKeyInUse?.enum).toEqual(['wait', 'proceed', 'fail']);
    // The switches a deployment leaves off admit only false in the body, as ValidateInput would.
    const switches = schema.properties as Record<string, { enum?: unknown[] }>;
    expect(switches.moveVaultPath?.enum).toEqual([false]);
    expect(switches.deleteInactiveKey?.enum).toEqual([false]);
    expect(switches.adoptVaultPath?.enum).toEqual([false]);
    expect(Object.keys(schema.properties)).toContain('adoptVaultPath');
    const opened = await build({
      httpTrigger: 'true',
      allowVaultPathMove: 'true',
      allowDeleteInactiveKey: 'true',
      allowVaultPathAdopt: 'true',
    });
    const open = opened.RotationsApiInputModel?.Properties.Schema as typeof schema & { not: unknown };
    const openSwitches = open.properties as Record<string, { enum?: unknown[] }>;
    expect(openSwitches.moveVaultPath?.enum).toBeUndefined();
    expect(openSwitches.deleteInactiveKey?.enum).toBeUndefined();
    expect(openSwitches.adoptVaultPath?.enum).toBeUndefined();
    expect(open.not).toEqual({
      properties: { moveVaultPath: { enum: [true] }, oldKeyInUse: { enum: ['proceed'] } },
      required: ['moveVaultPath', 'oldKeyInUse'],
    });
    await expect(build({ httpTrigger: 'true', minGraceSeconds: 'soon' })).rejects.toThrow(
      'invalid deployment floors',
    );
  });
});

describe('the fleet schedule (deploy/fleet-schedule.cjs)', () => {
  type FleetSchedule = (sls: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown[]>;
  const fleetSchedule = createRequire(import.meta.url)('../../deploy/fleet-schedule.cjs') as FleetSchedule;
  const run = (fleetRotation: unknown) =>
    fleetSchedule({
      resolveVariable: async (variable: string) => {
        if (variable === 'self:custom.fleetRotation') return fleetRotation;
        if (variable === 'self:service') return 'iam-key-rotator';
        if (variable === 'sls:stage') return 'dev';
        const fallback = variable.split(/\s*,\s*/)[1];
        if (fallback !== undefined) return JSON.parse(fallback) as unknown;
        throw new Error(`cannot resolve ${variable}`);
      },
    });

  it('starts the fleet daily with its input by default', async () => {
    const named = {
      name: 'iam-key-rotator-fleet-dev-schedule',
      role: { 'Fn::GetAtt': ['FleetScheduleRole', 'Arn'] },
    };
    await expect(run({ input: { maxKeyAgeDays: 90 } })).resolves.toEqual([
      { schedule: { rate: 'rate(1 day)', enabled: true, input: { maxKeyAgeDays: 90 }, ...named } },
    ]);
    await expect(run({ schedule: 'cron(0 3 * * ? *)', enabled: false })).resolves.toEqual([
      { schedule: { rate: 'cron(0 3 * * ? *)', enabled: false, input: {}, ...named } },
    ]);
  });

  it('refuses, at package time, an input listCandidates would refuse', async () => {
    await expect(run({ input: { maxKeyAgeDays: 90, maxAge: 3 } })).rejects.toThrow(
      'invalid custom.fleetRotation.input: (input): unknown field(s) maxAge',
    );
    await expect(run({ input: { userDefaults: { graceSeconds: 60 } } })).rejects.toThrow(
      "userDefaults: graceSeconds 60 is below this deployment's minGraceSeconds 300",
    );
  });
});
