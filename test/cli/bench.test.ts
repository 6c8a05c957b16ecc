import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callsReport } from '../../bench/rotation.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { localTarget, type Target } from '../../local-stack/provision.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack();
  target = localTarget(stack);
  await prepareTarget(target);
});

afterAll(async () => {
  await stack.close();
});

describe('bench: the calls of a rotation', () => {
  it('names a reason for every call beyond the minimum, locally and in Lambda, and prices the rotation', async () => {
    const report = await callsReport(stack, target, { memoryMb: 256, architecture: 'arm64' }, new Map());
    for (const call of report.calls) {
      if (Math.max(call.count, call.inLambda) > call.minimum) {
        expect(call.why, call.operation).toBeDefined();
        expect(call.why, call.operation).not.toBe('UNEXPLAINED');
      }
    }
    const count = (operation: string) => report.calls.find((c) => c.operation === operation)?.count;
    expect(count('iam:CreateAccessKey')).toBe(1);
    expect(count('vault:kv-write')).toBe(1);
    // VerifyKey retried while IAM propagated the new key: each retry is a billed transition.
    expect(report.stateTransitions.retries).toBeGreaterThan(0);
    expect(report.stateTransitions.total).toBe(
      report.stateTransitions.entered + report.stateTransitions.retries,
    );
    expect(report.lambda.requests).toBeGreaterThanOrEqual(report.lambda.coldStarts);
    expect(report.costUsd.perRotation).toBeGreaterThan(0);
    expect(report.costUsd.per1000Rotations).toBeCloseTo(report.costUsd.perRotation * 1000, 3);
  }, 60_000);
});
