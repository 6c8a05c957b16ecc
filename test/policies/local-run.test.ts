import { afterAll, beforeAll, expect, it } from 'vitest';
import { functionRoleName } from '../../local-stack/function-roles.js';
import { localTarget } from '../../local-stack/provision.js';
import { runLocalRotation } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack.close();
});

it('npm start’s rotation (runLocalRotation) runs each function as its own evaluated role', async () => {
  const report = await runLocalRotation({
    target: localTarget(stack),
    stack,
    userName: 'local-run',
    waitMs: 0,
    retryPauseMs: 0,
  });
  expect(report.status).toBe('SUCCEEDED');
  expect(stack.aws.denials()).toEqual([]);
  const roles = new Set(stack.aws.allowedActions().map((a) => a.roleArn.split('/').at(-1)));
  for (const fn of ['createKey', 'storeInVault', 'deactivateOld', 'deleteOld'] as const) {
    expect(roles).toContain(functionRoleName(fn));
  }
});
