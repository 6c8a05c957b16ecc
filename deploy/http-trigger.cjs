// The optional HTTP trigger (param httpTrigger: true): `POST /rotations` on a REST API, signed
// requests only (AWS_IAM), the body validated by API Gateway against the execution input's JSON
// schema (generated here from the zod schema, the one source, with this deployment's floors), and
// handed to states:StartExecution of the rotation machine through a role that may do nothing else.
'use strict';

const { createHash } = require('node:crypto');
const { z } = require('zod');
// Functional omit: works on classic and zod/mini schemas alike.
const { omit } = require('zod/mini');
const { require: tsxRequire } = require('tsx/cjs/api');
const { httpTriggerPolicy } = require('./policies.cjs');

const input = tsxRequire('../functions/commons/input.ts', __filename);

/**
 * The execution input as a draft-4 JSON schema (what API Gateway models take), as strict as the
 * deployment's floors: waits below them and a `proceed` they do not allow are refused too.
 * Refinements JSON Schema cannot say (the Vault path's segments) are left to ValidateInput.
 * A fleet's task token is refused: only the fleet machine hands those out.
 */
function executionInputSchema(floors) {
  // A fleet's task token is the fleet's to hand out: a caller naming one could answer a fleet's task.
  const body = omit(input.ExecutionInput, { fleetTaskToken: true });
  const schema = z.toJSONSchema(body, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
  });
  const { properties } = schema;
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

/** The API's resources; `cfn` renders a policies.cjs document as CloudFormation. */
function httpTriggerResources({ service, stage, floors, cfn }) {
  const schema = executionInputSchema(floorsFrom(floors));
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
  // A deployment is a snapshot: a new logical id whenever the method changes redeploys it.
  const digest = createHash('sha256')
    .update(JSON.stringify([method, schema]))
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
    RotationsApiStage: {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: api,
        StageName: stage,
        DeploymentId: { Ref: deploymentId },
        TracingEnabled: true,
      },
    },
    HttpTriggerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'API Gateway for POST /rotations: starts rotations, nothing else.',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
        Policies: [{ PolicyName: 'start-rotation', PolicyDocument: cfn(httpTriggerPolicy()) }],
      },
    },
  };
}

module.exports = { httpTriggerResources, executionInputSchema };
