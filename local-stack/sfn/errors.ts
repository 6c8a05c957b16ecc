import { AwsServiceError } from '../aws/errors.js';

/** Step Functions' own errors (client-sfn's models/errors): all sender errors, HTTP 400. */
export const invalidArn = (detail: string): AwsServiceError =>
  new AwsServiceError('InvalidArn', `Invalid Arn: '${detail}'`);

export const invalidName = (name: string): AwsServiceError =>
  new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);

export const invalidToken = (token: string): AwsServiceError =>
  new AwsServiceError('InvalidToken', `Invalid Token: '${token}'`);

export const invalidExecutionInput = (detail: string): AwsServiceError =>
  new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${detail}'`);

export const stateMachineDoesNotExist = (arn: string): AwsServiceError =>
  new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);

export const resourceNotFound = (arn: string): AwsServiceError =>
  new AwsServiceError('ResourceNotFound', `Resource Not Found: '${arn}'`);

export const executionDoesNotExist = (arn: string): AwsServiceError =>
  new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);

export const executionAlreadyExists = (arn: string): AwsServiceError =>
  new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);

export const missingParameter = (member: string): AwsServiceError =>
  new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  );

/** A request whose members contradict each other (ListExecutions with neither or both ARNs). */
export const validationError = (detail: string): AwsServiceError =>
  new AwsServiceError('ValidationException', detail);

export const taskDoesNotExist = (): AwsServiceError =>
  new AwsServiceError('TaskDoesNotExist', 'Task Does Not Exist');

export const invalidOutput = (detail: string): AwsServiceError =>
  new AwsServiceError('InvalidOutput', `Invalid Output: '${detail}'`);
