import { DescribeExecutionCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { CLAIM_TAG, OWNER_TAG } from '../functions/commons/ownership.js';
import { AccessDeniedError, callAws } from './aws-call.js';
import { iamClient, userTags } from './iam.js';
import { type Connection, sfnClient, stateMachineArn, UsageError } from './sfn.js';

/**
 * A user's claim tag names an execution that is not a rotation of that user (another machine's, or
 * another user's or account's): followed, `stop alice` would stop whatever whoever may tag alice chose.
 */
export class ForeignClaimError extends Error {
  override name = 'ForeignClaimError';
}

/** The account of an ARN (its fifth field). */
const accountOf = (arn: string | undefined): string | undefined => arn?.split(':')[4];

/** A value someone else wrote, printable on a terminal: no control characters. */
const printable = (value: unknown): string =>
  [...String(value)].map((c) => (/\p{Cc}/u.test(c) ? '?' : c)).join('');

/** The account a user is in: IAM's answer, or (a user IAM does not know) the rotation machine's. */
async function userAccount(
  userName: string,
  clients: { iam: IAMClient; machineArn: () => Promise<string> },
): Promise<string | undefined> {
  try {
    const user = await callAws('iam:GetUser', `user ${userName}`, () =>
      clients.iam.send(new GetUserCommand({ UserName: userName })),
    );
    return accountOf(user.User?.Arn);
  } catch (error) {
    if (error instanceof AccessDeniedError) throw error;
    return accountOf(await clients.machineArn());
  }
}

/** Whom an execution's input rotates: its user, and its account (none: the machine's). */
function rotatedBy(input: string | undefined, machineArn: string): { userName: unknown; accountId: unknown } {
  let parsed: { userName?: unknown; accountId?: unknown } = {};
  try {
    parsed = JSON.parse(input ?? '{}') as typeof parsed;
  } catch {
    // an input that is not JSON names no user
  }
  const accountId = typeof parsed.accountId === 'string' ? parsed.accountId : accountOf(machineArn);
  return { userName: parsed.userName, accountId };
}

/**
 * The claimed execution, if it is the rotation machine's and its input names this user and account
 * (no accountId: the rotator's own, the machine's); else what was found instead, refused.
 */
async function checkedClaim(
  executionArn: string,
  userName: string,
  clients: { sfn: SFNClient; iam: IAMClient; machineArn: () => Promise<string> },
): Promise<string> {
  const machineArn = await clients.machineArn();
  const described = await callAws('states:DescribeExecution', executionArn, () =>
    clients.sfn.send(new DescribeExecutionCommand({ executionArn })),
  );
  const found = `user ${userName}'s claim tag names ${executionArn}`;
  if (described.stateMachineArn !== machineArn)
    throw new ForeignClaimError(
      `${found}, an execution of ${described.stateMachineArn ?? 'no state machine'}, not of the rotation machine ${machineArn}: not followed`,
    );
  const input = rotatedBy(described.input, machineArn);
  const account = await userAccount(userName, clients);
  if (input.userName !== userName || input.accountId !== account)
    throw new ForeignClaimError(
      `${found}, whose input names user ${printable(input.userName)} in account ${printable(input.accountId)}, not ${userName} in ${String(account)}: not followed`,
    );
  return executionArn;
}

/** How many recent executions are read to find a user's when the user carries no claim tag. */
const SCAN_LIMIT = 50;

/** The user's last execution as the rotator's claim tags record it: its ARN and when it claimed. */
export function claimOf(
  tags: Record<string, string>,
): { executionArn: string; claimedAt?: string } | undefined {
  const owner = tags[OWNER_TAG];
  // The tag holds the execution ARN, then a digest (see functions/commons/ownership.ts).
  const executionArn = owner?.split(' ')[0];
  if (!executionArn?.startsWith('arn:')) return undefined;
  const claimedAt = tags[CLAIM_TAG]?.split(' ')[0];
  return { executionArn, ...(claimedAt ? { claimedAt } : {}) };
}

/**
 * An execution ARN from `<execution-arn|user>`: the user's claim tag, if it names a rotation of that
 * user (else ForeignClaimError), else (a dry run or a refused input claims nothing) the newest of the state machine's recent executions whose input names the user.
 */
export async function executionOf(
  ref: string,
  clients: { sfn: SFNClient; iam: IAMClient; machineArn: () => Promise<string> },
): Promise<string> {
  if (ref.startsWith('arn:')) return ref;
  // A user IAM does not know may still have had an execution (e.g. refused as UserNotFoundError).
  const tags: Record<string, string> = await userTags(clients.iam, ref).catch((error: unknown) => {
    if (error instanceof AccessDeniedError) throw error;
    return {};
  });
  const claimed = claimOf(tags);
  if (claimed) return checkedClaim(claimed.executionArn, ref, clients);
  if (tags[OWNER_TAG] !== undefined)
    throw new ForeignClaimError(
      `user ${ref}'s claim tag holds no execution ARN (${printable(tags[OWNER_TAG])}): not followed`,
    );
  const machineArn = await clients.machineArn();
  const account = await userAccount(ref, clients);
  const listed = await callAws('states:ListExecutions', machineArn, () =>
    clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn, maxResults: SCAN_LIMIT })),
  );
  for (const item of listed.executions ?? []) {
    const executionArn = item.executionArn ?? '';
    const described = await callAws('states:DescribeExecution', executionArn, () =>
      clients.sfn.send(new DescribeExecutionCommand({ executionArn })),
    );
    // The same user name in another account is another user.
    const input = rotatedBy(described.input, machineArn);
    if (input.userName === ref && input.accountId === account) return executionArn;
  }
  throw new UsageError(
    `no execution found for user ${ref} (no claim tag, none of the last ${SCAN_LIMIT} executions)`,
  );
}

/**
 * The one execution a command's positional argument names (an ARN, or a user's latest), and its
 * client; undefined, once said on stderr, when the user's claim tag names no rotation of that user.
 */
export async function namedExecution(
  command: string,
  positionals: string[],
  options: Connection & { 'iam-endpoint'?: string | undefined },
): Promise<{ sfn: SFNClient; executionArn: string } | undefined> {
  const [ref, ...rest] = positionals;
  if (!ref || rest.length > 0) throw new UsageError(`${command} takes one execution ARN or user`);
  const sfn = sfnClient(options);
  try {
    const executionArn = await executionOf(ref, {
      sfn,
      iam: iamClient(options['iam-endpoint']),
      machineArn: () => stateMachineArn(sfn, options),
    });
    return { sfn, executionArn };
  } catch (error) {
    if (!(error instanceof ForeignClaimError)) throw error;
    process.stderr.write(`iam-key-rotator ${command}: ${error.message}\n`);
    return undefined;
  }
}
