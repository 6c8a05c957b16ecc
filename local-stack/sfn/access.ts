import { conditionKeys, field, type JsonAccess } from '../aws/access.js';

/** An operation on the state machine or execution the input names (the request's ARN field). */
function on(action: string, arnField: 'stateMachineArn' | 'executionArn' | 'resourceArn'): JsonAccess {
  return (input) => {
    const resource = field(input, arnField);
    if (resource === undefined) return [];
    return [{ action, resource, shown: resource, context: conditionKeys({}) }];
  };
}

/** Operations IAM authorizes on `*`: listing, and task tokens, which name no resource. */
function anywhere(action: string): JsonAccess {
  return () => [{ action, resource: '*', shown: '*', context: conditionKeys({}) }];
}

/** The IAM action and resource of every emulated Step Functions operation. */
export const sfnAccess: ReadonlyMap<string, JsonAccess> = new Map<string, JsonAccess>([
  ['ListStateMachines', anywhere('states:ListStateMachines')],
  ['DescribeStateMachine', on('states:DescribeStateMachine', 'stateMachineArn')],
  ['ListTagsForResource', on('states:ListTagsForResource', 'resourceArn')],
  ['StartExecution', on('states:StartExecution', 'stateMachineArn')],
  ['DescribeExecution', on('states:DescribeExecution', 'executionArn')],
  ['GetExecutionHistory', on('states:GetExecutionHistory', 'executionArn')],
  ['ListExecutions', on('states:ListExecutions', 'stateMachineArn')],
  ['StopExecution', on('states:StopExecution', 'executionArn')],
  ['SendTaskSuccess', anywhere('states:SendTaskSuccess')],
  ['SendTaskFailure', anywhere('states:SendTaskFailure')],
  ['SendTaskHeartbeat', anywhere('states:SendTaskHeartbeat')],
]);
