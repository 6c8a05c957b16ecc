// The optional HTTP trigger (param httpTrigger: true): `POST /rotations` on a REST API, signed
// requests only (AWS_IAM), invoked only by the account's principals granted it and those
// httpTriggerInvokers names (the API's resource policy), throttled at the stage, every request in
// an access log; the body validated by API Gateway against the execution input's JSON schema
// (generated here from the zod schema, the one source, with this deployment's floors, Vault path
// prefix and accounts), and handed to states:StartExecution of the rotation machine through a role
// that may do nothing else.
'use strict';

const { createHash } = require('node:crypto');
const { z } = require('zod');
// Functional omit: works on classic and zod/mini schemas alike.
const { omit } = require('zod/mini');
const { require: tsxRequire } = require('tsx/cjs/api');
const { httpTriggerPolicy } = require('./policies.cjs');

const input = tsxRequire('../functions/commons/input.ts', __filename);

/** One segment of a Vault path (input.ts VaultPath): its characters, and not `.` or `..`. */
const SEGMENT = '(?:\\.*[\\w@+=,-][\\w.@+=,-]*|\\.{3,})';

const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A Vault path the rotator may serve a key at (input.ts isServablePath) as a JSON Schema pattern:
 * VaultPath's segments, strictly below the deployment's prefix (with maxLength 256).
 */
const servablePathPattern = (prefix) => `^(?=${escapeRegex(prefix)}.)${SEGMENT}(?:/${SEGMENT})*$`;

/**
 * The execution input as a draft-4 JSON schema (what API Gateway models take), as strict as the
 * deployment: waits below its floors and a `proceed` they do not allow are refused, a Vault path
 * not below its prefix, an account it may not rotate in (`accounts.allowedAccountIds` and its own).
 * What JSON Schema cannot say (a path in another account's folder) is left to ValidateInput.
 * A fleet's task token is refused: only the fleet machine hands those out.
 */
function executionInputSchema(floors, accounts = { pathPrefix: '', allowedAccountIds: [] }) {
  // A fleet's task token is the fleet's to hand out: a caller naming one could answer a fleet's task.
  const body = omit(input.ExecutionInput, { fleetTaskToken: true });
  const schema = z.toJSONSchema(body, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
  });
  const { properties } = schema;
  properties.vaultPath.pattern = servablePathPattern(accounts.pathPrefix);
  // The account the stack is deployed in is known at deployment only.
  properties.accountId.enum = [{ Ref: 'AWS::AccountId' }, ...accounts.allowedAccountIds];
  properties.graceSeconds.minimum = floors.minGraceSeconds;
  properties.recoverySeconds.minimum = floors.minRecoverySeconds;
  if (!floors.allowOldKeyInUseProceed) {
    properties.oldKeyInUse.enum = properties.oldKeyInUse.enum.filter((v) => v !== 'proceed');
  }
  // A switch the deployment leaves off admits only false; moving and proceeding together never pass.
  if (!floors.allowVaultPathMove) properties.moveVaultPath.enum = [false];
  if (!floors.allowDeleteInactiveKey) properties.deleteInactiveKey.enum = [false];
  if (!floors.allowVaultPathAdopt) properties.adoptVaultPath.enum = [false];
  schema.not = {
    properties: { moveVaultPath: { enum: [true] }, oldKeyInUse: { enum: ['proceed'] } },
    required: ['moveVaultPath', 'oldKeyInUse'],
  };
  delete schema.$schema;
  return { $schema: 'http://json-schema.org/draft-04/schema#', title: 'ExecutionInput', ...schema };
}

/** The deployment's floors from its parameters; a malformed one fails packaging. */
function floorsFrom(values) {
  const parsed = input.FloorSettings.safeParse(values);
  if (!parsed.success) throw new Error(`invalid deployment floors: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// The body goes to StartExecution as the execution's input, a JSON string.
const REQUEST_TEMPLATE =
  '{"stateMachineArn": "${StateMachine}", ' +
  `"input": "$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'")"}`;
// startDate is a number (epoch seconds), as StartExecution answers it.
const STARTED_TEMPLATE = `{"executionArn": "$input.path('$.executionArn')", "startDate": $input.json('$.startDate')}`;
const REFUSED_TEMPLATE = `{"message": "$util.escapeJavaScript($input.path('$.message'))", "error": "$input.path('$.__type')"}`;

/** What httpTriggerInvokers may name, each by its form. */
const INVOKER_KINDS = {
  principal: /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/,
  account: /^\d{12}$/,
  organization: /^o-[a-z0-9]{10,32}$/,
};

/**
 * The httpTriggerInvokers parameter (comma-separated or a list) as `{ kind, value }` entries: IAM
 * role or user ARNs, account ids, Organization ids. Anything else fails packaging.
 */
function invokersFrom(value) {
  const entries = (Array.isArray(value) ? value : String(value ?? '').split(','))
    .map((v) => String(v).trim())
    .filter(Boolean);
  return [...new Set(entries)].map((entry) => {
    const kind = Object.keys(INVOKER_KINDS).find((k) => INVOKER_KINDS[k].test(entry));
    if (!kind) {
      throw new Error(
        `deployment parameters: httpTriggerInvokers: '${entry}' is neither an IAM role or user ARN, an account id nor an Organization id (o-...)`,
      );
    }
    return { kind, value: entry };
  });
}

/**
 * The API's resource policy. Nobody outside the account invokes but those named (a named principal
 * or account needs its own account's IAM grant too; an Organization's accounts likewise, this one
 * excepted); in the account, the principals whose IAM policies grant execute-api:Invoke, and those
 * named, who need no such grant.
 */
function resourcePolicy(stage, invokers) {
  const of = (kind) => invokers.filter((i) => i.kind === kind).map((i) => i.value);
  const [principals, accounts, organizations] = ['principal', 'account', 'organization'].map(of);
  const own = { Ref: 'AWS::AccountId' };
  const method = `execute-api:/${stage}/POST/rotations`;
  const named = [
    ...principals,
    ...accounts.map((id) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${id}:root` })),
  ];
  const statements = [];
  if (named.length > 0) {
    statements.push({
      Sid: 'NamedInvokers',
      Effect: 'Allow',
      Principal: { AWS: named },
      Action: 'execute-api:Invoke',
      Resource: method,
    });
  }
  if (organizations.length > 0) {
    statements.push({
      Sid: 'OrganizationInvokers',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: method,
      // The Organization's other accounts: in this one, a principal still needs its IAM grant.
      Condition: {
        StringEquals: { 'aws:PrincipalOrgID': organizations },
        StringNotEquals: { 'aws:PrincipalAccount': own },
      },
    });
  }
  statements.push({
    Sid: 'NobodyElse',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 'execute-api:Invoke',
    Resource: 'execute-api:/*',
    Condition: {
      StringNotEquals: {
        'aws:PrincipalAccount': [own, ...accounts],
        ...(organizations.length > 0 ? { 'aws:PrincipalOrgID': organizations } : {}),
      },
      ...(principals.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': principals } } : {}),
    },
  });
  return { Version: '2012-10-17', Statement: statements };
}

/** Each request, one JSON line: who, what, the answer, and why API Gateway refused it. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  accountId: '$context.identity.accountId',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  error: '$context.error.message',
  errorType: '$context.error.responseType',
  validationError: '$context.error.validationErrorString',
  integrationStatus: '$context.integration.status',
});

/**
 * The region's API Gateway account setting naming a role that may write CloudWatch Logs: REST API
 * stages refuse an access log without it. It serves every API of the region, so both outlive the
 * stack (Retain): deleting the stack must not stop the other APIs' logs.
 */
function accountLogRoleResources() {
  const retain = { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' };
  return {
    ApiGatewayCloudWatchRole: {
      Type: 'AWS::IAM::Role',
      ...retain,
      Properties: {
        Description: "API Gateway's account setting: writes the region's APIs' logs to CloudWatch Logs.",
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
        Policies: [
          {
            PolicyName: 'push-to-cloudwatch-logs',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  // AmazonAPIGatewayPushToCloudWatchLogs' actions, in this account and region only.
                  Effect: 'Allow',
                  Action: [
                    'logs:CreateLogGroup',
                    'logs:CreateLogStream',
                    'logs:DescribeLogGroups',
                    'logs:DescribeLogStreams',
                    'logs:PutLogEvents',
                    'logs:GetLogEvents',
                    'logs:FilterLogEvents',
                  ],
                  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*' },
                },
              ],
            },
          },
        ],
      },
    },
    ApiGatewayAccount: {
      Type: 'AWS::ApiGateway::Account',
      ...retain,
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': ['ApiGatewayCloudWatchRole', 'Arn'] } },
    },
  };
}

/**
 * The API's resources; `cfn` renders a policies.cjs document as CloudFormation. `accounts`: the
 * Vault path prefix and the other accounts the body may name; `invokers`: invokersFrom's entries;
 * `throttle`: the stage's rate (per second) and burst; `logs`: the access log's retention and
 * whether the stack sets the region's API Gateway logging role (`create`) or finds it (`existing`).
 */
function httpTriggerResources({ service, stage, floors, accounts, invokers, throttle, logs, cfn }) {
  const schema = executionInputSchema(floorsFrom(floors), accounts);
  const policy = resourcePolicy(stage, invokers);
  const api = { Ref: 'RotationsApi' };
  const method = {
    Type: 'AWS::ApiGateway::Method',
    Properties: {
      RestApiId: api,
      ResourceId: { Ref: 'RotationsApiResource' },
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestValidatorId: { Ref: 'RotationsApiBodyValidator' },
      RequestModels: { 'application/json': { Ref: 'RotationsApiInputModel' } },
      Integration: {
        Type: 'AWS',
        IntegrationHttpMethod: 'POST',
        Uri: { 'Fn::Sub': 'arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/StartExecution' },
        Credentials: { 'Fn::GetAtt': ['HttpTriggerRole', 'Arn'] },
        PassthroughBehavior: 'NEVER',
        RequestTemplates: {
          'application/json': {
            'Fn::Sub': [REQUEST_TEMPLATE, { StateMachine: { Ref: 'RotateAccessKeyStateMachine' } }],
          },
        },
        IntegrationResponses: [
          { StatusCode: '200', ResponseTemplates: { 'application/json': STARTED_TEMPLATE } },
          // Step Functions' own refusals (e.g. ExecutionAlreadyExists) keep their message.
          {
            StatusCode: '400',
            SelectionPattern: '4\\d{2}',
            ResponseTemplates: { 'application/json': REFUSED_TEMPLATE },
          },
          { StatusCode: '500', SelectionPattern: '5\\d{2}' },
        ],
      },
      MethodResponses: [{ StatusCode: '200' }, { StatusCode: '400' }, { StatusCode: '500' }],
    },
  };
  // A deployment is a snapshot: a new logical id whenever the method, the model or the resource
  // policy changes redeploys it (a policy takes effect only once deployed).
  const digest = createHash('sha256')
    .update(JSON.stringify([method, schema, policy]))
    .digest('hex')
    .slice(0, 10);
  const deploymentId = `RotationsApiDeployment${digest}`;
  return {
    RotationsApi: {
      Type: 'AWS::ApiGateway::RestApi',
      Properties: {
        Name: `${service}-${stage}`,
        Description: 'iam-key-rotator: POST /rotations starts a rotation (signed requests only)',
        EndpointConfiguration: { Types: ['REGIONAL'] },
        Policy: policy,
      },
    },
    RotationsApiResource: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: {
        RestApiId: api,
        ParentId: { 'Fn::GetAtt': ['RotationsApi', 'RootResourceId'] },
        PathPart: 'rotations',
      },
    },
    RotationsApiInputModel: {
      Type: 'AWS::ApiGateway::Model',
      Properties: { RestApiId: api, ContentType: 'application/json', Name: 'ExecutionInput', Schema: schema },
    },
    RotationsApiBodyValidator: {
      Type: 'AWS::ApiGateway::RequestValidator',
      Properties: {
        RestApiId: api,
        Name: 'body',
        ValidateRequestBody: true,
        ValidateRequestParameters: false,
      },
    },
    RotationsApiPostMethod: method,
    // A body the model refuses: 400 with every reason API Gateway found.
    RotationsApiBadBody: {
      Type: 'AWS::ApiGateway::GatewayResponse',
      Properties: {
        RestApiId: api,
        ResponseType: 'BAD_REQUEST_BODY',
        StatusCode: '400',
        ResponseTemplates: {
          'application/json':
            '{"message": "$context.error.message", "reasons": "$context.error.validationErrorString"}',
        },
      },
    },
    [deploymentId]: {
      Type: 'AWS::ApiGateway::Deployment',
      DependsOn: ['RotationsApiPostMethod'],
      Properties: { RestApiId: api },
    },
    RotationsApiAccessLogs: {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/aws/apigateway/${service}-${stage}/access`,
        RetentionInDays: logs.retentionDays,
      },
    },
    RotationsApiStage: {
      Type: 'AWS::ApiGateway::Stage',
      ...(logs.role === 'create' ? { DependsOn: ['ApiGatewayAccount'] } : {}),
      Properties: {
        RestApiId: api,
        StageName: stage,
        DeploymentId: { Ref: deploymentId },
        TracingEnabled: true,
        AccessLogSetting: {
          DestinationArn: { 'Fn::GetAtt': ['RotationsApiAccessLogs', 'Arn'] },
          Format: ACCESS_LOG_FORMAT,
        },
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            ThrottlingRateLimit: throttle.rateLimit,
            ThrottlingBurstLimit: throttle.burstLimit,
          },
        ],
      },
    },
    ...(logs.role === 'create' ? accountLogRoleResources() : {}),
    HttpTriggerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'API Gateway for POST /rotations: starts rotations, nothing else.',
        // AWS documents no aws:SourceAccount/aws:SourceArn for the role an AWS integration assumes:
        // IfExists binds them to this account and API when API Gateway sends them, and does not
        // break the trigger where it does not.
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'apigateway.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: {
                StringEqualsIfExists: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLikeIfExists: {
                  'aws:SourceArn': {
                    'Fn::Sub':
                      'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RotationsApi}/*',
                  },
                },
              },
            },
          ],
        },
        Policies: [{ PolicyName: 'start-rotation', PolicyDocument: cfn(httpTriggerPolicy()) }],
      },
    },
  };
}

module.exports = {
  ACCESS_LOG_FORMAT,
  executionInputSchema,
  httpTriggerResources,
  invokersFrom,
  servablePathPattern,
};
