import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { expect } from 'vitest';
import { dataPath, type Target, USER_PATH, vaultAdmin } from '../../local-stack/provision.js';
import type { LocalStack } from '../../local-stack/stack.js';

const DAY_MS = 86_400_000;
export const TAG_KEY = 'iam-key-rotator:rotate';

export interface AccountUser {
  accountId: string;
  userName: string;
  vaultPath: string;
  oldAccessKeyId: string;
}

/**
 * A user under the rotated path of `accountId`, made by that account's administrator, tagged
 * `iam-key-rotator:rotate=<tag>`, with one key `ageDays` old that Vault serves at the account's
 * path (the per-account template), unless `served` is false.
 */
export async function accountUser(
  { stack, target }: { stack: LocalStack; target: Target },
  accountId: string,
  userName: string,
  options: { tag: string; ageDays: number; served?: boolean },
): Promise<AccountUser> {
  const iam = new IAMClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.account(accountId).adminCredentials,
  });
  await iam.send(new CreateUserCommand({ UserName: userName, Path: USER_PATH }));
  await iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: TAG_KEY, Value: options.tag }] }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
  const vaultPath = `${target.pathPrefix}${accountId}/${userName}`;
  if (options.served !== false) {
    const data = { access_key: key?.AccessKeyId, secret_key: key?.SecretAccessKey };
    await vaultAdmin(target).post(dataPath(target, vaultPath), { data });
  }
  const aged = await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key?.AccessKeyId}/create-date`, {
    method: 'POST',
    body: JSON.stringify({ createDate: new Date(Date.now() - options.ageDays * DAY_MS).toISOString() }),
  });
  expect(aged.status).toBe(200);
  return { accountId, userName, vaultPath, oldAccessKeyId: key?.AccessKeyId ?? '' };
}

/** The execution once it no longer runs. */
export async function settled(
  sfn: SFNClient,
  executionArn: string,
  pollMs = 20,
): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
