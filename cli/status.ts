import { redactDeep } from '../functions/commons/redact.js';
import { parseArgs } from 'node:util';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { AwsCallError, callAws } from './aws-call.js';
import { claimOf } from './executions.js';
import { accessKeys, iamClient, userTags, usersUnder } from './iam.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, sfnClient, wholeNumber } from './sfn.js';

const HELP = `usage: iam-key-rotator status [user...] [--json] [--max-age-days N] [--user-path P]

For each rotated user (under the deployment's IAM path, or those named): each access key with its
status and age, the last execution (from the claim tag the rotator writes) with its status, error
and when, and flags:
  old-key            a key older than --max-age-days (default 90)
  two-active-keys    both of the user's keys are Active
  left-behind        the last execution ended in RollbackFailed, OldKeyStillInUseError or
                     ConcurrentRotationError: something is left to clean up (see docs/reference/errors.md)

options:
  --json                 one JSON document: {users: [...]}
  --max-age-days N       the age from which a key is flagged (default 90)
  --user-path P          the deployment's IAM user path (default /rotated/)
  --iam-endpoint URL     IAM endpoint (default: the SDK's: AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL)
${CONNECTION_HELP}

exit code: 0 nothing flagged, 1 something flagged, 2 bad usage, 3 a call failed.`;

/** The errors after which an execution leaves something for an operator to clean up. */
const LEAVES_SOMETHING = new Set(['RollbackFailed', 'OldKeyStillInUseError', 'ConcurrentRotationError']);
const DAY_MS = 86_400_000;

export interface UserStatus {
  user: string;
  keys: { accessKeyId: string; status: string; createDate: string; ageDays: number }[];
  lastExecution: {
    executionArn: string;
    status: string;
    error?: string;
    claimedAt?: string;
    startDate?: string;
    stopDate?: string;
  } | null;
  flags: string[];
}

async function lastExecution(
  sfn: SFNClient,
  tags: Record<string, string>,
): Promise<UserStatus['lastExecution']> {
  const claim = claimOf(tags);
  if (!claim) return null;
  const { executionArn } = claim;
  try {
    const described = await callAws('states:DescribeExecution', executionArn, () =>
      sfn.send(new DescribeExecutionCommand({ executionArn })),
    );
    return {
      executionArn,
      status: described.status ?? 'UNKNOWN',
      ...(described.error ? { error: described.error } : {}),
      ...(claim.claimedAt ? { claimedAt: claim.claimedAt } : {}),
      ...(described.startDate ? { startDate: described.startDate.toISOString() } : {}),
      ...(described.stopDate ? { stopDate: described.stopDate.toISOString() } : {}),
    };
  } catch (error) {
    // Step Functions keeps a closed execution for 90 days.
    if (error instanceof AwsCallError && error.code === 'ExecutionDoesNotExist') {
      return { executionArn, status: 'EXPIRED', ...(claim.claimedAt ? { claimedAt: claim.claimedAt } : {}) };
    }
    throw error;
  }
}

export async function userStatus(
  iam: IAMClient,
  sfn: SFNClient,
  user: string,
  maxAgeDays: number,
  now = Date.now(),
): Promise<UserStatus> {
  const [keys, tags] = await Promise.all([accessKeys(iam, user), userTags(iam, user)]);
  const listed = keys
    .map((k) => {
      const created = k.CreateDate?.getTime() ?? now;
      return {
        accessKeyId: k.AccessKeyId ?? '',
        status: k.Status ?? '',
        createDate: new Date(created).toISOString(),
        ageDays: Math.floor((now - created) / DAY_MS),
      };
    })
    .sort((a, b) => a.createDate.localeCompare(b.createDate));
  const last = await lastExecution(sfn, tags);
  const flags: string[] = [];
  if (listed.some((k) => k.ageDays >= maxAgeDays)) flags.push('old-key');
  if (listed.filter((k) => k.status === 'Active').length >= 2) flags.push('two-active-keys');
  if (last?.error && LEAVES_SOMETHING.has(last.error)) flags.push('left-behind');
  return { user, keys: listed, lastExecution: last, flags };
}

function table(statuses: UserStatus[]): string {
  const rows = [['USER', 'KEYS', 'LAST EXECUTION', 'FLAGS']];
  for (const s of statuses) {
    const keys = s.keys.map((k) => `${k.accessKeyId} ${k.status} ${k.ageDays}d`).join(', ') || '(none)';
    const last = s.lastExecution;
    const when = last?.stopDate ?? last?.startDate ?? last?.claimedAt ?? '';
    const execution = last ? `${last.status}${last.error ? ` ${last.error}` : ''} ${when}`.trim() : '(none)';
    rows.push([s.user, keys, execution, s.flags.join(',')]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `iam-key-rotator status`. */
export async function runStatus(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      json: { type: 'boolean', default: false },
      'max-age-days': { type: 'string', default: '90' },
      'user-path': { type: 'string', default: '/rotated/' },
      'iam-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const maxAgeDays = wholeNumber(values['max-age-days'], '--max-age-days', 1);
  const iam = iamClient(values['iam-endpoint']);
  const sfn = sfnClient(values);
  const users = positionals.length
    ? positionals
    : (await usersUnder(iam, values['user-path'])).map((u) => u.UserName ?? '').filter(Boolean);
  const statuses: UserStatus[] = [];
  for (const user of users) statuses.push(await userStatus(iam, sfn, user, maxAgeDays));
  process.stdout.write(
    values.json ? `${JSON.stringify(redactDeep({ users: statuses }), null, 2)}\n` : `${table(statuses)}\n`,
  );
  return statuses.some((s) => s.flags.length > 0) ? 1 : 0;
}
