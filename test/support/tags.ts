import { IAMClient, ListUserTagsCommand, TagUserCommand } from '@aws-sdk/client-iam';
import type { TestStack } from './local-stack.js';

/** Calls that change something: IAM writes, sealing, signing, Vault writes and deletes. */
const WRITES = /Create|Delete|Update|TagUser|UntagUser|Encrypt|GenerateMac|kv-write|kv-delete/;

/** The write calls among an execution's calls (report.calls), by name. */
export const writeCalls = (calls: Record<string, number>): string[] =>
  Object.keys(calls).filter((call) => WRITES.test(call));

/** IAM as the account's administrator: a tagger outside the rotator, never the handlers. */
export const adminIam = (ctx: TestStack): IAMClient =>
  new IAMClient({
    region: ctx.target.aws.region,
    endpoint: ctx.stack.aws.endpoint,
    credentials: ctx.stack.aws.adminCredentials,
  });

/** The user's tags, as the administrator lists them. */
export async function userTags(ctx: TestStack, userName: string): Promise<Record<string, string>> {
  const out = await adminIam(ctx).send(new ListUserTagsCommand({ UserName: userName }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** Writes tags on the user as the administrator (someone allowed iam:TagUser, not the rotator). */
export async function tagUser(ctx: TestStack, userName: string, tags: Record<string, string>): Promise<void> {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  await adminIam(ctx).send(new TagUserCommand({ UserName: userName, Tags }));
}
