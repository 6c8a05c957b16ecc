import { ListStateMachinesCommand, SFNClient, type StateMachineListItem } from '@aws-sdk/client-sfn';
import { callAws } from './aws-call.js';

/** Options every operator command shares: where Step Functions is and which state machine. */
export const CONNECTION_OPTIONS = {
  endpoint: { type: 'string' },
  'state-machine-arn': { type: 'string' },
  stage: { type: 'string' },
} as const;

export const CONNECTION_HELP = `connection (credentials and region from the SDK's default chain: AWS_PROFILE, SSO, env):
  --endpoint URL             Step Functions endpoint (default: AWS_ENDPOINT_URL_SFN, else AWS's)
  --state-machine-arn ARN    the rotator's state machine (default: ROTATOR_STATE_MACHINE_ARN)
  --stage STAGE              or find the state machine named iam-key-rotator-<stage>`;

export interface Connection {
  endpoint?: string | undefined;
  'state-machine-arn'?: string | undefined;
  stage?: string | undefined;
}

/** A Step Functions client; the SDK reads AWS_ENDPOINT_URL_SFN itself when no endpoint is given. */
export function sfnClient(connection: Connection): SFNClient {
  return new SFNClient(connection.endpoint ? { endpoint: connection.endpoint } : {});
}

export class StateMachineNotFoundError extends Error {
  constructor(name: string, existing: string[]) {
    super(
      `no state machine named ${name}; ${existing.length ? `there are: ${existing.join(', ')}` : 'there are none'} ` +
        '(give --state-machine-arn, ROTATOR_STATE_MACHINE_ARN or another --stage)',
    );
    this.name = 'StateMachineNotFoundError';
  }
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An option's whole number of at least `min`; anything else is bad usage. */
export function wholeNumber(value: string, option: string, min = 0): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${option} must be a whole number${min > 0 ? ` >= ${min}` : ''}, not '${value}'`);
  }
  return n;
}

/** The state machine ARN: --state-machine-arn, ROTATOR_STATE_MACHINE_ARN, or iam-key-rotator-<stage>. */
export async function stateMachineArn(client: SFNClient, connection: Connection): Promise<string> {
  const given = connection['state-machine-arn'] ?? process.env.ROTATOR_STATE_MACHINE_ARN;
  if (given) return given;
  if (!connection.stage) {
    throw new UsageError(
      'which state machine? give --state-machine-arn, ROTATOR_STATE_MACHINE_ARN or --stage',
    );
  }
  return stateMachineNamed(client, `iam-key-rotator-${connection.stage}`);
}

/** The ARN of the state machine with this name (ListStateMachines, every page). */
export async function stateMachineNamed(client: SFNClient, name: string): Promise<string> {
  const machines: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await callAws('states:ListStateMachines', '*', () =>
      client.send(new ListStateMachinesCommand({ nextToken })),
    );
    machines.push(...(page.stateMachines ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const found = machines.find((m) => m.name === name);
  if (!found?.stateMachineArn)
    throw new StateMachineNotFoundError(
      name,
      machines.map((m) => m.name ?? ''),
    );
  return found.stateMachineArn;
}

/** The AWS console page of an execution. */
export function consoleLink(executionArn: string): string {
  const region = executionArn.split(':')[3] ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
