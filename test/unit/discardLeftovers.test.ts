import {
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import { VerifyMacCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { CLAIM_MAC_TAG, ownerOf } from '../../functions/commons/ownership.js';
import {
  ACCOUNT_ID,
  commandNames,
  EXECUTION,
  keyMeta,
  makeRequest,
  noSuchEntity,
  OLD_SECRET,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  signedClaimTags,
  uniqueUser,
  useFakeKms,
  useHandler,
  userArn,
  userIdOf,
  vaultPathOf,
  BEFORE,
  OLD_KEY,
  OWN_CLAIM_AT,
} from './support.js';

const { vault, handler } = useHandler<{ deletedAccessKeyIds: string[] }>(
  () => import('../../functions/discardLeftovers.js'),
);
const iam = resetBeforeEach(mockClient(IAMClient));
const { kms } = useFakeKms();

const OWNER = ownerOf(makeRequest());
const LEFTOVER = 'AKIALEFTOVER00000001';
const SINCE_CLAIM = '2024-05-01T12:00:01Z';
/** CreateKey's error when its attempts created keys and lost the responses. */
const LOST = 'AwsUnavailableError';

interface Given {
  keys: ReturnType<typeof keyMeta>[];
  /** Who claimed the user, when and which keys the claim lists; none when absent. */
  claim?: { owner: string; at: string; keys: string[]; signed?: boolean };
  /** IAM's spelling of the name. */
  iamName?: string;
}

/** Mocks IAM for one user: GetUser, ListAccessKeys, the claim tags, DeleteAccessKey. */
function givenUser(userName: string, { keys, claim, iamName = userName }: Given) {
  iam.on(GetUserCommand, { UserName: userName }).resolves({
    User: {
      UserName: iamName,
      Arn: userArn(iamName),
      UserId: userIdOf(iamName),
      Path: '/',
      CreateDate: new Date(BEFORE),
    },
  });
  iam.on(ListAccessKeysCommand, { UserName: iamName }).resolves({ AccessKeyMetadata: keys });
  const signed = claim
    ? signedClaimTags({ accountId: ACCOUNT_ID, userId: userIdOf(iamName) }, claim.owner, claim.at, claim.keys)
    : {};
  const tags = claim?.signed === false ? { ...signed, [CLAIM_MAC_TAG]: 'v1 bm90LXNpZ25lZA==' } : signed;
  iam.on(ListUserTagsCommand, { UserName: iamName }).resolves({
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  });
  iam.on(DeleteAccessKeyCommand).resolves({});
}

const ownClaim = { owner: OWNER, at: OWN_CLAIM_AT, keys: [OLD_KEY] };
const withLeftover = [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta(LEFTOVER, 'Active', SINCE_CLAIM)];
const deleted = () => iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId);

const servedAt = (userName: string, accessKeyId: string) =>
  vault().writeSecret({
    mount: 'secret',
    path: vaultPathOf(userName),
    data: { access_key: accessKeyId, secret_key: OLD_SECRET },
  });

describe('discardLeftovers handler', () => {
  it.each(['ConcurrentRotationError', 'TooManyAccessKeysError'])(
    'after CreateKey’s %s (refused before it created a key) deletes nothing, not even a key made after the claim',
    async (failedWith) => {
      const userName = uniqueUser();
      givenUser(userName, { keys: withLeftover, claim: ownClaim });

      await expect(handler({ failedWith, request: makeRequest({ userName }) })).resolves.toEqual({
        deletedAccessKeyIds: [],
      });
      expect(deleted()).toEqual([]);
    },
  );

  it('deletes a key created after this execution’s own verified claim, which the claim does not list', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: ownClaim });
    servedAt(userName, OLD_KEY);
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [LEFTOVER],
    });
    expect(deleted()).toEqual([LEFTOVER]);
    expect(kms.commandCalls(VerifyMacCommand)).toHaveLength(1);
  });

  it('never deletes a key that existed before: listed in the claim, or created before it', async () => {
    const userName = uniqueUser();
    const sameDayBefore = 'AKIABEFORECLAIM00001';
    givenUser(userName, {
      keys: [
        keyMeta(OLD_KEY, 'Active', SINCE_CLAIM),
        keyMeta(sameDayBefore, 'Inactive', '2024-05-01T11:59:58Z'),
      ],
      claim: ownClaim,
    });
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(deleted()).toEqual([]);
  });

  it('deletes none of two keys made after the claim (one is someone else’s): LeftoverUnprovenError naming both', async () => {
    const userName = uniqueUser();
    const byHand = 'AKIABYHAND0000000001';
    givenUser(userName, {
      keys: [keyMeta(LEFTOVER, 'Active', SINCE_CLAIM), keyMeta(byHand, 'Active', '2024-05-01T12:00:02Z')],
      claim: { ...ownClaim, keys: [] },
    });
    servedAt(userName, OLD_KEY);
    const error = await rejectionOf(handler({ failedWith: LOST, request: makeRequest({ userName }) }));
    expect(error.name).toBe('LeftoverUnprovenError');
    expect(error.message).toContain(LEFTOVER);
    expect(error.message).toContain(byHand);
    expect(deleted()).toEqual([]);
  });

  it('never deletes the key Vault serves', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: ownClaim });
    servedAt(userName, LEFTOVER);
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(deleted()).toEqual([]);
  });

  it('deletes nothing under another execution’s claim, without verifying it or reading Vault', async () => {
    const userName = uniqueUser();
    givenUser(userName, {
      keys: withLeftover,
      claim: { ...ownClaim, owner: ownerOf(makeRequest({ execution: `${EXECUTION}-other` })) },
    });
    vault().seal();
    try {
      await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
        deletedAccessKeyIds: [],
      });
    } finally {
      vault().unseal();
    }
    expect(deleted()).toEqual([]);
    expect(kms.calls()).toHaveLength(0);
  });

  it('deletes nothing when the user holds no claim', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover });
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(commandNames(iam)).toEqual(['GetUserCommand', 'ListAccessKeysCommand', 'ListUserTagsCommand']);
  });

  it('deletes nothing under a claim whose MAC does not verify (anyone who may tag the user can write one)', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: { ...ownClaim, signed: false } });
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(deleted()).toEqual([]);
  });

  it('deletes nothing under a claim of this name made before this execution started (a reused name)', async () => {
    const userName = uniqueUser();
    givenUser(userName, {
      keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta(LEFTOVER, 'Active', '2024-04-01T00:00:01Z')],
      claim: { ...ownClaim, at: '2024-04-01T00:00:00Z' },
    });
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(deleted()).toEqual([]);
  });

  it('acts under IAM’s spelling of the name, reading the default path of that spelling', async () => {
    const given = uniqueUser('Bob');
    const iamName = given.toLowerCase();
    givenUser(given, { keys: withLeftover, claim: ownClaim, iamName });
    // The leftover is what Vault serves at IAM's spelling's default path: kept.
    servedAt(iamName, LEFTOVER);
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName: given }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(iam.commandCalls(ListAccessKeysCommand)[0]?.args[0].input.UserName).toBe(iamName);
  });

  it('is safe to run twice: a key already gone is not reported again', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: ownClaim });
    iam.on(DeleteAccessKeyCommand).rejects(noSuchEntity('gone'));
    await expect(handler({ failedWith: LOST, request: makeRequest({ userName }) })).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
  });

  it('makes no call for a dry run', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: ownClaim });
    await expect(
      handler({ failedWith: LOST, request: makeRequest({ userName, dryRun: true }) }),
    ).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(iam.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
  });

  it('deletes nothing for a user it may not read or that does not exist', async () => {
    iam.on(GetUserCommand).rejects(noSuchEntity('no such user'));
    await expect(
      handler({ failedWith: LOST, request: makeRequest({ userName: uniqueUser() }) }),
    ).resolves.toEqual({
      deletedAccessKeyIds: [],
    });
    expect(commandNames(iam)).toEqual(['GetUserCommand']);
  });

  it('throws AwsUnavailableError when IAM fails with 5xx, so the state machine retries', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: ownClaim });
    iam.on(DeleteAccessKeyCommand).rejects(sdkError('ServiceFailure', 500, { Code: 'ServiceFailure' }));
    expect((await rejectionOf(handler({ failedWith: LOST, request: makeRequest({ userName }) }))).name).toBe(
      'AwsUnavailableError',
    );
  });

  it('throws VaultUnavailableError, deleting nothing, while Vault is sealed', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: withLeftover, claim: ownClaim });
    vault().seal();
    try {
      expect(
        (await rejectionOf(handler({ failedWith: LOST, request: makeRequest({ userName }) }))).name,
      ).toBe('VaultUnavailableError');
    } finally {
      vault().unseal();
    }
    expect(deleted()).toEqual([]);
  });

  it('refuses a malformed event with InvalidInputError before any call', async () => {
    expect((await rejectionOf(handler({ request: { userName: 'x' } }))).name).toBe('InvalidInputError');
    expect(iam.calls()).toHaveLength(0);
  });
});
