import { afterAll, beforeAll, expect, it } from 'vitest';
import { rotateThroughApi } from '../../cli/local-rotation.js';
import { functionRoleName } from '../../local-stack/function-roles.js';
import { localTarget } from '../../local-stack/provision.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack.close();
});

it('npm start’s rotation (through the Step Functions endpoint) runs each function as its own evaluated role', async () => {
  const report = await rotateThroughApi({
    target: localTarget(stack),
    stack,
    userName: 'local-run',
    faults: [],
    err: () => undefined,
  });
  expect(report.status).toBe('SUCCEEDED');
  expect(stack.aws.denials()).toEqual([]);
  const roles = new Set(stack.aws.allowedActions().map((a) => a.roleArn.split('/').at(-1)));
  for (const fn of ['createKey', 'storeInVault', 'deactivateOld', 'deleteOld'] as const) {
    expect(roles).toContain(functionRoleName(fn));
  }
});
