// Review of issue 16: someone allowed iam:TagUser/UntagUser downgrades a signed pin to an "unsigned
// pin written by an earlier version". What it can reach is the residual the README's threat table
// names: only a path that already serves one of the user's Active keys, as for a user never pinned.
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { Request } from '../../functions/commons/input.js';
import { ownerOf } from '../../functions/commons/ownership.js';
import { VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import type { Created, DryRunPlan } from '../../functions/commons/state.js';
import {
  ACCOUNT_ID,
  keyMeta,
  makeRequest,
  OLD_SECRET,
  rejectionOf,
  resetBeforeEach,
  SECRET,
  signedClaimTags,
  signedPinTags,
  uniqueUser,
  useFakeKms,
  useHandler,
  userArn,
  userIdOf,
  vaultPathOf,
} from './support.js';

type Output = (Created | DryRunPlan) & { request: Request };
const { vault, handler } = useHandler<Output>(() => import('../../functions/createKey.js'));
const iam = resetBeforeEach(mockClient(IAMClient));
useFakeKms();

const OLD_KEY = 'AKIAOLDKEY0000000001';
const NEW_KEY = 'AKIANEWKEY0000000001';
const signee = (userName: string) => ({ accountId: ACCOUNT_ID, userId: userIdOf(userName) });

function givenUser(userName: string, tags: Record<string, string>) {
  iam.on(GetUserCommand, { UserName: userName }).resolves({
    User: {
      UserName: userName,
      Arn: userArn(userName),
      UserId: userIdOf(userName),
      Path: '/',
      CreateDate: new Date('2023-01-01T00:00:00Z'),
    },
  });
  iam.on(ListAccessKeysCommand, { UserName: userName }).resolves({
    AccessKeyMetadata: [keyMeta(OLD_KEY, 'Active', '2024-03-01T08:00:00Z')],
  });
  const userTags = { ...tags };
  iam.on(ListUserTagsCommand, { UserName: userName }).callsFake(() => ({
    Tags: Object.entries(userTags).map(([Key, Value]) => ({ Key, Value })),
  }));
  iam.on(TagUserCommand).callsFake((input: { Tags?: { Key?: string; Value?: string }[] }) => {
    for (const tag of input.Tags ?? []) userTags[tag.Key ?? ''] = tag.Value ?? '';
    return {};
  });
  iam.on(DeleteAccessKeyCommand).resolves({});
  iam.on(CreateAccessKeyCommand, { UserName: userName }).resolves({
    AccessKey: {
      UserName: userName,
      AccessKeyId: NEW_KEY,
      SecretAccessKey: SECRET,
      Status: 'Active',
      CreateDate: new Date(),
    },
  });
}

const writeAt = (path: string, accessKeyId: string) =>
  vault().writeSecret({ mount: 'secret', path, data: { access_key: accessKeyId, secret_key: OLD_SECRET } });

/**
 * The user's consumers read `vendors/<user>` (its signed pin, written by this version, which also
 * left its signed claim). A stale copy of its current key sits at the default path (a seed, a backup,
 * an earlier setup). The tagger removes the pin's MAC tag and points the pin at the default path.
 */
function downgraded(userName: string) {
  const consumers = `aws/iam-users/vendors/${userName}`;
  writeAt(consumers, OLD_KEY);
  writeAt(vaultPathOf(userName), OLD_KEY);
  const earlier = ownerOf(makeRequest({ execution: `${makeRequest().execution}-earlier` }));
  const tags = {
    ...signedPinTags(signee(userName), consumers, '2024-04-01T00:00:00.000Z'),
    ...signedClaimTags(signee(userName), earlier, '2024-04-01T00:00:00.000Z', []),
    [VAULT_PATH_TAG]: vaultPathOf(userName),
  };
  Reflect.deleteProperty(tags, VAULT_PATH_MAC_TAG);
  givenUser(userName, tags);
  return { consumers };
}

describe('review 16: a signed pin downgraded to an unsigned one', () => {
  it('is followed only to a path that already serves one of the user’s Active keys (the named residual)', async () => {
    const userName = uniqueUser();
    downgraded(userName);
    const result = await handler({ request: makeRequest({ userName }) });
    expect(result).toMatchObject({
      dryRun: false,
      accessKeyId: NEW_KEY,
      oldAccessKeyIds: [OLD_KEY],
      pinnedVaultPath: vaultPathOf(userName),
      pinSigned: false,
    });
  });

  it('is refused, with no key created, when the path it names serves none of the user’s Active keys', async () => {
    const userName = uniqueUser();
    downgraded(userName);
    const elsewhere = `aws/iam-users/elsewhere/${userName}`;
    iam.on(ListUserTagsCommand, { UserName: userName }).resolves({
      Tags: [{ Key: VAULT_PATH_TAG, Value: elsewhere }],
    });
    const error = await rejectionOf(handler({ request: makeRequest({ userName, vaultPath: elsewhere }) }));
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('unsigned pin');
    expect(iam.commandCalls(CreateAccessKeyCommand)).toHaveLength(0);
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
  });
});
