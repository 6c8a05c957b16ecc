import { IAMClient, ListUserTagsCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AccessKeyInfo, type IamUser, iamUser } from '../../../functions/commons/iam.js';
import type { Request } from '../../../functions/commons/input.js';
import {
  checkVaultPathPin,
  claim,
  CLAIM_TAG,
  CLAIM_TTL_MS,
  type Claim,
  isFresh,
  OWNER_TAG,
  ownerOf,
  pinnedVaultPath,
  pinVerifiedPath,
  readClaim,
  unclaimedKeys,
  VAULT_PATH_TAG,
} from '../../../functions/commons/ownership.js';
import {
  CLAIM_TAG_KEYS,
  FUNCTION_STATEMENTS,
  type FunctionName,
  ROTATOR_TAG_KEYS,
  VAULT_PATH_TAG_KEY,
} from '../../../deploy/policies.cjs';
import {
  EXECUTION,
  makeRequest,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  setAwsAuthEnv,
  STARTED_AT,
} from '../support.js';

const iam = resetBeforeEach(mockClient(IAMClient));

/** A user of the rotator's own account, as createKey acts on it. */
const user = (userName: string): IamUser => iamUser(makeRequest({ userName }), 'createKey');
/** A request and its user, as createKey and verifyKey pass them. */
const creating = (request: Request) => [request, iamUser(request, 'createKey')] as const;
const verifying = (request: Request) => [request, iamUser(request, 'verifyKey')] as const;

/** What IAM accepts in a tag value. */
const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAG_VALUE = 256;

const CLAIMED_AT = '2024-05-01T12:00:01.250Z';
const OLD = 'AKIAOLDKEY0000000001';
const OTHER = 'AKIAOLDKEY0000000002';
const NEW = 'AKIANEWKEY0000000001';

beforeAll(() => {
  setAwsAuthEnv();
});

afterEach(() => {
  vi.useRealTimers();
});

const key = (accessKeyId: string, createDate = '2024-04-01T00:00:00.000Z'): AccessKeyInfo => ({
  accessKeyId,
  status: 'Active',
  createDate,
});

const givenTags = (tags: Record<string, string>) =>
  iam
    .on(ListUserTagsCommand)
    .resolves({ Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });

const claimOf = (keys: string[], owner = EXECUTION, claimedAt = Date.parse(CLAIMED_AT)): Claim => ({
  owner,
  claimedAt,
  keys: new Set(keys),
});

const writtenTags = () => iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags ?? [];

describe('ownerOf', () => {
  it('keeps an ordinary execution ARN readable and adds a digest of it', () => {
    const owner = ownerOf(makeRequest());
    expect(owner.startsWith(`${EXECUTION} `)).toBe(true);
    expect(owner).toMatch(/ [0-9a-f]{16}$/);
    expect(owner).toMatch(IAM_TAG_VALUE);
  });

  it('replaces the characters an execution name may have but an IAM tag value may not', () => {
    const execution = "arn:aws:states:us-east-1:123456789012:execution:rotate:nightly(1)!it's";
    const owner = ownerOf(makeRequest({ execution }));
    expect(owner).toMatch(IAM_TAG_VALUE);
    expect(owner.startsWith('arn:aws:states:us-east-1:123456789012:execution:rotate:nightly_1__it_s ')).toBe(
      true,
    );
  });

  it('keeps apart names that differ only in the replaced characters', () => {
    const base = 'arn:aws:states:us-east-1:123456789012:execution:rotate:';
    expect(ownerOf(makeRequest({ execution: `${base}rot(1)` }))).not.toBe(
      ownerOf(makeRequest({ execution: `${base}rot!1!` })),
    );
  });
});

describe('readClaim', () => {
  it('returns the owner, the claim time and the keys that existed then', async () => {
    iam.on(ListUserTagsCommand, { UserName: 'alice' }).resolves({
      Tags: [
        { Key: 'team', Value: 'a' },
        { Key: OWNER_TAG, Value: ownerOf(makeRequest()) },
        { Key: CLAIM_TAG, Value: `${CLAIMED_AT} ${OLD} ${OTHER}` },
      ],
    });
    await expect(readClaim(user('alice'))).resolves.toEqual({
      owner: ownerOf(makeRequest()),
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set([OLD, OTHER]),
    });
  });

  it('returns a claim without keys for a user that had none', async () => {
    givenTags({ [OWNER_TAG]: `${EXECUTION}-other`, [CLAIM_TAG]: CLAIMED_AT });
    await expect(readClaim(user('alice'))).resolves.toEqual({
      owner: `${EXECUTION}-other`,
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set(),
    });
  });

  it('ignores repeated and trailing spaces between the keys', async () => {
    givenTags({ [OWNER_TAG]: EXECUTION, [CLAIM_TAG]: `${CLAIMED_AT}  ${OLD}   ${OTHER} ` });
    expect((await readClaim(user('alice')))?.keys).toEqual(new Set([OLD, OTHER]));
  });

  it('returns undefined for a user without tags', async () => {
    iam.on(ListUserTagsCommand).resolves({});
    await expect(readClaim(user('alice'))).resolves.toBeUndefined();
  });

  it('returns undefined when the owner tag is missing', async () => {
    givenTags({ [CLAIM_TAG]: `${CLAIMED_AT} ${OLD}` });
    await expect(readClaim(user('alice'))).resolves.toBeUndefined();
  });

  it('returns undefined when the owner tag is empty', async () => {
    givenTags({ [OWNER_TAG]: '', [CLAIM_TAG]: `${CLAIMED_AT} ${OLD}` });
    await expect(readClaim(user('alice'))).resolves.toBeUndefined();
  });

  it('returns undefined when only the owner tag is set (as an earlier version wrote it)', async () => {
    givenTags({ [OWNER_TAG]: EXECUTION });
    await expect(readClaim(user('alice'))).resolves.toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['keys without a time', `${OLD} ${OTHER}`],
    ['a leading space before the time', ` ${CLAIMED_AT} ${OLD}`],
    ['a time that is not a date', `yesterday ${OLD}`],
    ['an impossible date', `2024-13-45T99:00:00.000Z ${OLD}`],
  ])('returns undefined when the claim tag is %s', async (_case, value) => {
    givenTags({ [OWNER_TAG]: EXECUTION, [CLAIM_TAG]: value });
    await expect(readClaim(user('alice'))).resolves.toBeUndefined();
  });

  it('throws AwsUnavailableError when IAM throttles', async () => {
    iam.on(ListUserTagsCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(readClaim(user('alice')))).name).toBe('AwsUnavailableError');
  });

  it('throws UserNotFoundError for a missing user', async () => {
    iam.on(ListUserTagsCommand).rejects(sdkError('NoSuchEntity', 404));
    expect((await rejectionOf(readClaim(user('ghost')))).name).toBe('UserNotFoundError');
  });
});

describe('claim', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(CLAIMED_AT));
  });

  it('writes the owner and the claim (time and existing keys) in one TagUser call', async () => {
    iam.on(TagUserCommand).resolves({});
    await claim(...creating(makeRequest({ userName: 'bob' })), [key(OLD), key(OTHER)]);
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(1);
    expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input).toEqual({
      UserName: 'bob',
      Tags: [
        { Key: OWNER_TAG, Value: ownerOf(makeRequest()) },
        { Key: CLAIM_TAG, Value: `${CLAIMED_AT} ${OLD} ${OTHER}` },
      ],
    });
  });

  it('writes just the time, without a trailing space, when no key exists', async () => {
    iam.on(TagUserCommand).resolves({});
    await claim(...creating(makeRequest()), []);
    expect(writtenTags()).toContainEqual({ Key: CLAIM_TAG, Value: CLAIMED_AT });
  });

  it('names the tags iam-key-rotator:execution and iam-key-rotator:claim', () => {
    expect(OWNER_TAG).toBe('iam-key-rotator:execution');
    expect(CLAIM_TAG).toBe('iam-key-rotator:claim');
  });

  it('writes tag values IAM accepts, within 256 characters, for the longest execution ARN and key id', async () => {
    iam.on(TagUserCommand).resolves({});
    // State machine and execution names may be 80 characters each; access key ids up to 128.
    const execution = `arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:${'s'.repeat(79)}-:${'r'.repeat(79)}_`;
    const longKey = `AKIA${'Z9'.repeat(62)}`;
    await claim(...creating(makeRequest({ execution })), [key(longKey)]);
    const tags = writtenTags();
    expect(tags).toHaveLength(2);
    for (const tag of tags) {
      expect(tag.Value).toMatch(IAM_TAG_VALUE);
      expect(tag.Value?.length).toBeLessThanOrEqual(MAX_TAG_VALUE);
    }
  });

  it('writes tag values IAM accepts for a realistic claim', async () => {
    iam.on(TagUserCommand).resolves({});
    await claim(...creating(makeRequest()), [key(OLD)]);
    for (const tag of writtenTags()) expect(tag.Value).toMatch(IAM_TAG_VALUE);
  });

  it('writes a claim that readClaim reads back', async () => {
    let stored: { Key?: string; Value?: string }[] = [];
    iam.on(TagUserCommand).callsFake((input: { Tags?: { Key?: string; Value?: string }[] }) => {
      stored = input.Tags ?? [];
      return {};
    });
    iam.on(ListUserTagsCommand).callsFake(() => ({ Tags: stored }));
    await claim(...creating(makeRequest()), [key(OLD)]);
    await expect(readClaim(user('alice'))).resolves.toEqual({
      owner: ownerOf(makeRequest()),
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set([OLD]),
    });
  });

  it('throws AwsUnavailableError when tagging is throttled', async () => {
    iam.on(TagUserCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(claim(...creating(makeRequest()), [key(OLD)]))).name).toBe(
      'AwsUnavailableError',
    );
  });
});

describe('unclaimedKeys', () => {
  it('returns the keys created after the claim that Vault does not hold', () => {
    const keys = [key(OLD), key(NEW, '2024-05-01T12:00:03.000Z')];
    expect(unclaimedKeys(claimOf([OLD]), keys, [OLD]).map((k) => k.accessKeyId)).toEqual([NEW]);
  });

  it('keeps a key that existed at claim time even if it was created in the same second as the start', () => {
    // IAM dates have second precision: by date alone this key would pass for one created by the execution.
    const sameSecond = key(OTHER, `${STARTED_AT.slice(0, 19)}Z`);
    expect(unclaimedKeys(claimOf([OTHER]), [sameSecond], [])).toEqual([]);
  });

  it('returns a key created after the claim whatever its date', () => {
    const backdated = key(NEW, '2020-01-01T00:00:00.000Z');
    expect(unclaimedKeys(claimOf([OLD]), [key(OLD), backdated], [])).toEqual([backdated]);
  });

  it('ignores the new key once Vault holds it', () => {
    expect(unclaimedKeys(claimOf([OLD]), [key(OLD), key(NEW)], [NEW])).toEqual([]);
  });

  it('returns every key for a claim made when the user had none', () => {
    expect(unclaimedKeys(claimOf([]), [key(OLD), key(NEW)], []).map((k) => k.accessKeyId)).toEqual([
      OLD,
      NEW,
    ]);
  });

  it('returns nothing when every key was in the claim', () => {
    expect(unclaimedKeys(claimOf([OLD, OTHER]), [key(OLD), key(OTHER)], [])).toEqual([]);
  });
});

describe('isFresh', () => {
  const claimed = claimOf([OLD]);
  const at = Date.parse(CLAIMED_AT);

  it('lasts 15 minutes', () => {
    expect(CLAIM_TTL_MS).toBe(15 * 60 * 1000);
  });

  it('is fresh right after the claim and until just before the TTL', () => {
    expect(isFresh(claimed, at)).toBe(true);
    expect(isFresh(claimed, at + 60_000)).toBe(true);
    expect(isFresh(claimed, at + CLAIM_TTL_MS - 1)).toBe(true);
  });

  it('is stale once the TTL has passed', () => {
    expect(isFresh(claimed, at + CLAIM_TTL_MS)).toBe(false);
    expect(isFresh(claimed, at + 24 * 3_600_000)).toBe(false);
  });

  it('counts a claim dated slightly ahead of this clock as fresh', () => {
    expect(isFresh(claimed, at - 5_000)).toBe(true);
  });

  it('compares with the current time by default', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at + CLAIM_TTL_MS - 1_000);
    expect(isFresh(claimed)).toBe(true);
    vi.setSystemTime(at + CLAIM_TTL_MS + 1_000);
    expect(isFresh(claimed)).toBe(false);
  });
});

describe('the Vault path pin', () => {
  const PATH = 'aws/iam-users/ci';

  it('names the tags the deployment lets each function write, as deploy/policies.cjs lists them', () => {
    expect(CLAIM_TAG_KEYS).toEqual([OWNER_TAG, CLAIM_TAG]);
    expect(VAULT_PATH_TAG_KEY).toBe(VAULT_PATH_TAG);
    expect(ROTATOR_TAG_KEYS).toEqual([OWNER_TAG, CLAIM_TAG, VAULT_PATH_TAG]);
  });

  it('lets verifyKey tag only the pin and createKey only its claim (deploy/policies.cjs)', () => {
    const tagKeys = (fn: FunctionName) =>
      FUNCTION_STATEMENTS[fn]
        .filter((s) => [s.Action].flat().includes('iam:TagUser'))
        .map((s) => s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']);
    expect(tagKeys('verifyKey')).toEqual([[VAULT_PATH_TAG]]);
    expect(tagKeys('createKey')).toEqual([[OWNER_TAG, CLAIM_TAG]]);
  });

  it('reads no pin from a user without the tag', () => {
    expect(pinnedVaultPath({ [OWNER_TAG]: EXECUTION })).toBeNull();
  });

  it('accepts the pinned path, any path of an unpinned user, and another path with moveVaultPath', () => {
    expect(() => checkVaultPathPin(makeRequest({ vaultPath: PATH }), PATH)).not.toThrow();
    expect(() => checkVaultPathPin(makeRequest({ vaultPath: PATH }), null)).not.toThrow();
    const move = makeRequest({ vaultPath: `${PATH}-new`, moveVaultPath: true });
    expect(() => checkVaultPathPin(move, PATH)).not.toThrow();
  });

  it('refuses another path with InvalidInputError naming both paths and the move flag', () => {
    let error: unknown;
    try {
      checkVaultPathPin(makeRequest({ userName: 'ci', vaultPath: `${PATH}-typo` }), PATH);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect((error as Error).message).toBe(
      `vaultPath ${PATH}-typo is not ${PATH}, where the key of 'ci' is served (user tag ${VAULT_PATH_TAG}); to move the key there on purpose, set "moveVaultPath": true (the deployment must allow it: allowVaultPathMove)`,
    );
  });

  it('refuses another path than the default one serving an unpinned user’s key, saying it has no pin yet', () => {
    const request = makeRequest({ userName: 'ci', vaultPath: `${PATH}-typo` });
    expect(() => checkVaultPathPin(request, PATH, false)).toThrow(
      `vaultPath ${PATH}-typo is not ${PATH}, where the key of 'ci' is served (its default path; the user has no ${VAULT_PATH_TAG} tag yet); to move the key there on purpose, set "moveVaultPath": true`,
    );
  });

  it('writes nothing when the user is pinned to the verified path already', async () => {
    await expect(pinVerifiedPath(...verifying(makeRequest({ vaultPath: PATH })), PATH)).resolves.toEqual({
      pinned: true,
    });
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
  });

  it('pins an unpinned user (or one from an execution that predates pins) without reporting a move', async () => {
    iam.on(TagUserCommand).resolves({});
    for (const before of [null, undefined]) {
      await expect(pinVerifiedPath(...verifying(makeRequest({ vaultPath: PATH })), before)).resolves.toEqual({
        pinned: true,
      });
    }
    const tags = iam.commandCalls(TagUserCommand).map((c) => c.args[0].input.Tags);
    expect(tags).toEqual([[{ Key: VAULT_PATH_TAG, Value: PATH }], [{ Key: VAULT_PATH_TAG, Value: PATH }]]);
  });

  it('re-pins a moved key and reports the move and that the old path’s consumers must switch', async () => {
    iam.on(TagUserCommand).resolves({});
    const moved = await pinVerifiedPath(
      ...verifying(makeRequest({ vaultPath: `${PATH}/v2`, moveVaultPath: true })),
      PATH,
    );
    expect(moved).toEqual({
      pinned: true,
      moved: {
        from: PATH,
        to: `${PATH}/v2`,
        notice: `consumers of ${PATH} must read ${PATH}/v2 from now on: ${PATH} keeps the old key, which is deactivated after the grace period`,
      },
    });
    expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags).toEqual([
      { Key: VAULT_PATH_TAG, Value: `${PATH}/v2` },
    ]);
  });

  it.each([
    ['AccessDenied', sdkError('AccessDenied', 403, { Code: 'AccessDenied' })],
    ['LimitExceeded', sdkError('LimitExceeded', 409, { Code: 'LimitExceeded' })],
  ])(
    'reports a first pin IAM refuses (%s) as not written, naming the error, instead of failing',
    async (code, refusal) => {
      iam.on(TagUserCommand).rejects(refusal);
      const result = await pinVerifiedPath(...verifying(makeRequest({ vaultPath: PATH })), null);
      expect(result).toEqual({
        pinned: false,
        pinFailure: `AwsRequestError: iam:TagUser failed: ${code} (HTTP ${code === 'AccessDenied' ? 403 : 409})`,
      });
    },
  );

  it('fails a move whose pin IAM refuses: the next rotation would follow the old pin', async () => {
    iam.on(TagUserCommand).rejects(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
    const error = await rejectionOf(
      pinVerifiedPath(...verifying(makeRequest({ vaultPath: `${PATH}/v2`, moveVaultPath: true })), PATH),
    );
    expect(error.name).toBe('AwsRequestError');
  });

  it('stores a path with commas (IAM allows none in tag values) as a value IAM accepts and reads it back', async () => {
    iam.on(TagUserCommand).resolves({});
    const path = `aws/iam-users/a,b@corp/${'x'.repeat(200)}`;
    await pinVerifiedPath(...verifying(makeRequest({ vaultPath: path })), null);
    const value = iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags?.[0]?.Value ?? '';
    expect(value).toMatch(IAM_TAG_VALUE);
    expect(value.length).toBeLessThanOrEqual(MAX_TAG_VALUE);
    expect(pinnedVaultPath({ [VAULT_PATH_TAG]: value })).toBe(path);
  });
});
