import { conditionKeys, field, type JsonAccess } from '../aws/access.js';

type ArnField = 'stateMachineArn' | 'executionArn' | 'resourceArn' | 'mapRunArn';

/** An operation on the state machine, execution or Map Run the input names (the first ARN field present). */
function on(action: string, ...arnFields: ArnField[]): JsonAccess {
  return (input) => {
    const resource = arnFields.map((name) => field(input, name)).find((value) => value !== undefined);
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
  ['ListExecutions', on('states:ListExecutions', 'stateMachineArn', 'mapRunArn')],
  ['DescribeMapRun', on('states:DescribeMapRun', 'mapRunArn')],
  ['ListMapRuns', on('states:ListMapRuns', 'executionArn')],
  ['StopExecution', on('states:StopExecution', 'executionArn')],
  ['SendTaskSuccess', anywhere('states:SendTaskSuccess')],
  ['SendTaskFailure', anywhere('states:SendTaskFailure')],
  ['SendTaskHeartbeat', anywhere('states:SendTaskHeartbeat')],
]);
