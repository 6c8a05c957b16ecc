import { SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import type { Json } from '../local-stack/lambda.js';
import { captureConsole } from '../local-stack/logs.js';
import { observe, type Observed, seedUser, type Target } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import type { LocalStack } from '../local-stack/stack.js';
import { outcomeDocument } from './outcome.js';
import { checkInput, executionName, followToEnd, startExecution } from './rotate.js';

/** The document `npm start -- --json` prints: the execution as Step Functions reports it, and what changed. */
export interface LocalReport {
  status: string;
  error: { Error: string; Cause: string } | null;
  user: string;
  /** The account the user is in and the rotation ran in (the input's accountId, else the home account). */
  accountId: string;
  /** Where Vault served the user's key before the rotation: the deployment's template filled in. */
  vaultPath: string;
  states: string[];
  /** Step Functions history events, as GetExecutionHistory returns them. */
  history: HistoryEvent[];
  before: Observed;
  after: Observed;
  /** The rotation's calls by `service:operation` (the follower's own Step Functions calls left out). */
  calls: Record<string, number>;
  durationMs: number;
}

export interface LocalRotationOptions {
  stack: LocalStack;
  target: Target;
  userName: string;
  /** A member account of `target` to seed the demo user in and rotate there; default the home account. */
  accountId?: string;
  faults: string[];
  /** The execution input exactly as given (`--input`), passed unchecked so ValidateInput judges it. */
  input?: Json;
  onLog?: (line: string) => void;
  err: (line: string) => void;
}

/**
 * `npm start`'s rotation, through the API: provisions the target, seeds the demo user, then does what
 * `iam-key-rotator rotate <user> --wait` does, with client-sfn against the stack's Step Functions endpoint.
 */
export async function rotateThroughApi(options: LocalRotationOptions): Promise<LocalReport> {
  const { stack, target, userName } = options;
  const provisioned = await prepareTarget(target);
  const { accountId } = options;
  const user = await seedUser(target, userName, accountId === undefined ? {} : { accountId });
  const input =
    options.input === undefined
      ? checkInput({ userName, ...(accountId === undefined ? {} : { accountId }) })
      : options.input;
  const before = await observe(target, user);
  const sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
  stack.traffic.resetCalls();
  for (const fault of options.faults) stack.traffic.addFault(fault);
  const capture = captureConsole(options.onLog);
  let followed: Awaited<ReturnType<typeof followToEnd>>;
  try {
    const started = await startExecution(sfn, stack.stateMachineArn, input, executionName(userName));
    followed = await followToEnd(started.executionArn ?? '', sfn, 50, options.err);
  } finally {
    capture.restore();
    stack.traffic.clearFaults();
  }
  if (!followed) throw new Error('interrupted');
  const calls = Object.fromEntries(
    Object.entries(stack.traffic.calls()).filter(([name]) => !name.startsWith('sfn:')),
  );
  const after = await observe(target, user);
  const outcome = outcomeDocument(followed.execution, followed.history);
  return {
    status: outcome.status,
    error: outcome.error,
    user: userName,
    accountId: accountId ?? provisioned.accountId,
    vaultPath: user.vaultPath,
    states: outcome.states,
    history: outcome.history,
    before,
    after,
    calls,
    durationMs: outcome.durationMs,
  };
}
