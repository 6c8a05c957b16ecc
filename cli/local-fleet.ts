import { SFNClient } from '@aws-sdk/client-sfn';
import type { Target } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import type { LocalStack } from '../local-stack/stack.js';
import { type FleetSeed, seedFleetUsers } from './fleet-seed.js';
import { followFleet } from './rotate-fleet.js';
import { startExecution } from './rotate.js';

/** What the i-th demo user is: most are due; some young, some not opted in, one with two keys. */
function demoKind(i: number): Pick<FleetSeed, 'tagged' | 'ageDays' | 'keys'> {
  if (i === 2) return { tagged: true, ageDays: 200, keys: 2 };
  if (i % 7 === 3) return { tagged: false, ageDays: 200, keys: 1 };
  if (i % 5 === 1) return { tagged: true, ageDays: 10, keys: 1 };
  return { tagged: true, ageDays: 100 + (i % 1000), keys: 1 };
}

/**
 * `npm start -- --fleet N [--accounts K]`: provisions the target (and the target role in each member
 * account), seeds N demo users under the rotated path, the i-th in the (i mod K)-th account (their
 * keys backdated through the emulator's admin API), and runs the fleet machine over those accounts
 * through the stack's Step Functions endpoint, as `iam-key-rotator rotate-fleet --wait` does against
 * a deployment.
 */
export async function runLocalFleet(options: {
  stack: LocalStack;
  target: Target;
  count: number;
  /** The accounts the users are spread over, the home account first. */
  accountIds: string[];
  /** Fleet input fields the options set (maxConcurrency, maxDuePerAccount). */
  input: Record<string, number>;
  faults: string[];
  json: boolean;
  /** Progress lines; the caller keeps the handlers' logs off stdout until the stack is closed. */
  err: (line: string) => void;
}): Promise<number> {
  const { stack, target, count, accountIds } = options;
  await prepareTarget(target);
  const run = Math.random().toString(36).slice(2, 6);
  const digits = Math.max(3, String(count - 1).length);
  const seeds = Array.from({ length: count }, (_, i) => ({
    accountId: accountIds[i % accountIds.length] ?? stack.aws.accountId,
    userName: `demo-fleet-${run}-${String(i).padStart(digits, '0')}`,
    ...demoKind(i),
  }));
  await seedFleetUsers(stack, target, seeds);
  const over = accountIds.length > 1 ? ` over ${accountIds.length} accounts` : '';
  options.err(
    `iam-key-rotator: ${count} demo users seeded under the rotated path${over}; running the fleet machine`,
  );
  const sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
  const input = { ...options.input, ...(accountIds.length > 1 ? { accountIds } : {}) };
  for (const fault of options.faults) stack.traffic.addFault(fault);
  try {
    const started = await startExecution(sfn, stack.fleetStateMachineArn, input, `demo-fleet-${run}`);
    const code = await followFleet(sfn, started.executionArn ?? '', { pollMs: 100, json: options.json });
    // A fault that never fired did not apply: say so rather than let the run look like its test.
    const armed = stack.traffic.describe().slice(-options.faults.length);
    const unfired = options.faults.filter((_, i) => armed[i]?.fired === 0);
    for (const spec of unfired) {
      options.err(
        `iam-key-rotator: --fault ${spec} never fired: the fleet ends once each new key is stored and verified, and DeactivateOld and DeleteOld run after it (fault a single rotation, without --fleet, to test those)`,
      );
    }
    if (code === undefined) return 130;
    return unfired.length > 0 && code === 0 ? 2 : code;
  } finally {
    stack.traffic.clearFaults();
  }
}
