import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { awsFailure, clientConfig, errorCode } from './commons/aws.js';
import { parseEvent } from './commons/event.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

/** EventBridge's "Step Functions Execution Status Change" event, the fields this function reads. */
const Event = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().check(z.minLength(1)),
    status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    input: z.nullish(z.string()),
    error: z.nullish(z.string()),
    cause: z.nullish(z.string()),
  }),
});

/** The only field read from the execution input; the rest was checked by validateInput. */
const FleetMember = z.object({
  userName: z.string(),
  accountId: z.optional(z.string()),
  fleetTaskToken: z.string().check(z.minLength(1)),
  dryRun: z.optional(z.boolean()),
});

/**
 * The answers that mean the fleet no longer waits for this token: it was answered already (the
 * child's own signal), its fleet timed out or stopped, or it was never a token. None is the
 * child's failure.
 */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

const ERROR_BY_STATUS: Record<string, string> = { TIMED_OUT: 'States.Timeout', ABORTED: 'States.Aborted' };

/** SendTaskFailure's limits (the SDK model's): error 256, cause 32768 characters. */
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;

let client: SFNClient | undefined;

/**
 * ReportToFleet: the target of an EventBridge rule on the per-user machine's executions that end.
 * When a fleet started the execution (its input carries `fleetTaskToken`) it answers the fleet's
 * waiting task: SendTaskFailure with the execution's error name and cause, or SendTaskSuccess when
 * the execution succeeded (normally the machine's own signal already did). A token the fleet no
 * longer waits for is not a failure. The token itself is never logged.
 */
export const handler = async (event: unknown): Promise<{ reported: boolean }> => {
  const { detail } = parseEvent(Event, event);
  let input: unknown;
  try {
    input = JSON.parse(detail.input ?? 'null');
  } catch {
    return { reported: false };
  }
  const member = FleetMember.safeParse(input);
  if (!member.success) return { reported: false };
  const { userName, fleetTaskToken, dryRun } = member.data;
  // Without one, the rotation ran in the account of its execution, as ValidateInput defaults it.
  const accountId = member.data.accountId ?? detail.executionArn.split(':')[4];
  client ??= new SFNClient(clientConfig());
  const sfn = client;
  const send = () =>
    detail.status === 'SUCCEEDED'
      ? sfn.send(
          new SendTaskSuccessCommand({
            taskToken: fleetTaskToken,
            // A dry run changed nothing: it planned, as the child's own signal would have said.
            // Whom it answers for, as the child's own signal says: the fleet checks it is the item's user.
            output: JSON.stringify({ userName, accountId, outcome: dryRun === true ? 'planned' : 'rotated' }),
          }),
        )
      : sfn.send(
          new SendTaskFailureCommand({
            taskToken: fleetTaskToken,
            error: (detail.error ?? ERROR_BY_STATUS[detail.status] ?? 'States.TaskFailed').slice(
              0,
              MAX_ERROR,
            ),
            cause: `${detail.executionArn}: ${detail.cause ?? ''}`.slice(0, MAX_CAUSE),
          }),
        );
  try {
    await send();
  } catch (error) {
    const code = errorCode(error);
    if (GONE.has(code)) {
      logger.info('the fleet no longer waits for this execution', { execution: detail.executionArn, code });
      return { reported: false };
    }
    throw awsFailure(
      detail.status === 'SUCCEEDED' ? 'states:SendTaskSuccess' : 'states:SendTaskFailure',
      error,
    );
  }
  logger.info('reported to the fleet', { execution: detail.executionArn, status: detail.status, userName });
  return { reported: true };
};
