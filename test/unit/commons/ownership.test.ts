import { DeleteAccessKeyCommand, IAMClient, ListUserTagsCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AccessKeyInfo, iamUser } from '../../../functions/commons/iam.js';
import type { Request } from '../../../functions/commons/input.js';
import {
  CLAIM_MAC_TAG,
  CLAIM_TAG,
  CLAIM_TTL_MS,
  type Claim,
  claimOf,
  claimUser,
  isFresh,
  keepClaim,
  keysBeforeThisExecution,
  OWNER_TAG,
  ownerOf,
  unclaimedKeys,
  verifiedClaim,
} from '../../../functions/commons/ownership.js';
import { CLOCK_SKEW_MS, type TagSubject } from '../../../functions/commons/pin.js';
import {
  ACCOUNT_ID,
  EXECUTION,
  makeRequest,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  setAwsAuthEnv,
  signedClaimTags,
  STARTED_AT,
  tagMac,
  useFakeKms,
} from '../support.js';

const iam = resetBeforeEach(mockClient(IAMClient));
const { kms } = useFakeKms();

/** A request and its user, as createKey passes them. */
const creating = (request: Request) => [request, iamUser(request, 'createKey')] as const;

/** What IAM accepts in a tag value. */
const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAG_VALUE = 256;

const CLAIMED_AT = '2024-05-01T12:00:01.250Z';
const OLD = 'AKIAOLDKEY0000000001';
const OTHER = 'AKIAOLDKEY0000000002';
const NEW = 'AKIANEWKEY0000000001';
const USER_ID = 'AIDAEXAMPLEUSER00001';
const SUBJECT: TagSubject = { accountId: ACCOUNT_ID, userId: USER_ID, userName: 'alice' };
/** How this execution names itself in the claim tag. */
const OWNER = ownerOf(makeRequest());

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

const claimOfKeys = (keys: string[], owner = EXECUTION, claimedAt = Date.parse(CLAIMED_AT)): Claim => ({
  owner,
  claimedAt,
  keys: new Set(keys),
});

const writtenTags = () => iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags ?? [];
const deleted = () => iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId);

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

describe('claimOf', () => {
  it('returns the owner, the claim time and the keys that existed then', () => {
    expect(
      claimOf({
        team: 'a',
        [OWNER_TAG]: ownerOf(makeRequest()),
        [CLAIM_TAG]: `${CLAIMED_AT} ${OLD} ${OTHER}`,
      }),
    ).toEqual({
      owner: ownerOf(makeRequest()),
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set([OLD, OTHER]),
    });
  });

  it('returns a claim without keys for a user that had none', () => {
    expect(claimOf({ [OWNER_TAG]: `${EXECUTION}-other`, [CLAIM_TAG]: CLAIMED_AT })).toEqual({
      owner: `${EXECUTION}-other`,
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set(),
    });
  });

  it('ignores repeated and trailing spaces between the keys', () => {
    expect(
      claimOf({ [OWNER_TAG]: EXECUTION, [CLAIM_TAG]: `${CLAIMED_AT}  ${OLD}   ${OTHER} ` })?.keys,
    ).toEqual(new Set([OLD, OTHER]));
  });

  it('returns undefined for a user without tags', () => {
    expect(claimOf({})).toBeUndefined();
  });

  it('returns undefined when the owner tag is missing', () => {
    expect(claimOf({ [CLAIM_TAG]: `${CLAIMED_AT} ${OLD}` })).toBeUndefined();
  });

  it('returns undefined when the owner tag is empty', () => {
    expect(claimOf({ [OWNER_TAG]: '', [CLAIM_TAG]: `${CLAIMED_AT} ${OLD}` })).toBeUndefined();
  });

  it('returns undefined when only the owner tag is set (as an earlier version wrote it)', () => {
    expect(claimOf({ [OWNER_TAG]: EXECUTION })).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['keys without a time', `${OLD} ${OTHER}`],
    ['a leading space before the time', ` ${CLAIMED_AT} ${OLD}`],
    ['a time that is not a date', `yesterday ${OLD}`],
    ['an impossible date', `2024-13-45T99:00:00.000Z ${OLD}`],
  ])('returns undefined when the claim tag is %s', (_case, value) => {
    expect(claimOf({ [OWNER_TAG]: EXECUTION, [CLAIM_TAG]: value })).toBeUndefined();
  });
});

describe('verifiedClaim', () => {
  const signed = (owner = OWNER, at = CLAIMED_AT, keys = [OLD], subject = SUBJECT) =>
    signedClaimTags(subject, owner, at, keys);

  it('returns the claim whose MAC the claim key made over the account, user id, owner, time and keys', async () => {
    await expect(verifiedClaim(signed(), SUBJECT)).resolves.toEqual({
      owner: OWNER,
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set([OLD]),
    });
    expect(kms.commandCalls(VerifyMacCommand)[0]?.args[0].input.KeyId).toBe('alias/rotator-claim');
  });

  it('returns undefined, without throwing, for a claim without a MAC (as anyone may tag one)', async () => {
    const unsigned = Object.fromEntries(Object.entries(signed()).filter(([key]) => key !== CLAIM_MAC_TAG));
    await expect(verifiedClaim(unsigned, SUBJECT)).resolves.toBeUndefined();
  });

  it.each([
    ['another owner', (tags: Record<string, string>) => ({ ...tags, [OWNER_TAG]: `${EXECUTION}-forged` })],
    [
      'another time',
      (tags: Record<string, string>) => ({ ...tags, [CLAIM_TAG]: `2024-05-01T12:00:05.000Z ${OLD}` }),
    ],
    ['other keys', (tags: Record<string, string>) => ({ ...tags, [CLAIM_TAG]: CLAIMED_AT })],
  ])('returns undefined for a claim whose MAC was made for %s', async (_case, change) => {
    await expect(verifiedClaim(change(signed()), SUBJECT)).resolves.toBeUndefined();
  });

  it('returns undefined for a claim signed for another user id or account', async () => {
    await expect(
      verifiedClaim(signed(OWNER, CLAIMED_AT, [OLD], { ...SUBJECT, userId: 'AIDAOTHER' }), SUBJECT),
    ).resolves.toBeUndefined();
    await expect(
      verifiedClaim(signed(OWNER, CLAIMED_AT, [OLD], { ...SUBJECT, accountId: '222222222222' }), SUBJECT),
    ).resolves.toBeUndefined();
  });

  it('returns undefined for a claim MAC made with the pin key', async () => {
    const tags = signed();
    const mac = tagMac('alias/rotator-pin', 'claim', [ACCOUNT_ID, USER_ID, OWNER, tags[CLAIM_TAG] ?? '']);
    await expect(verifiedClaim({ ...tags, [CLAIM_MAC_TAG]: `v1 ${mac}` }, SUBJECT)).resolves.toBeUndefined();
  });

  it.each([
    ['empty', () => ''],
    ['only the version', () => 'v1'],
    ['another version', (mac: string) => mac.replace(/^v1 /, 'v2 ')],
    ['a trailing field', (mac: string) => `${mac} extra`],
    ['a MAC that is not one', () => 'v1 not-a-mac'],
  ])('returns undefined for a MAC tag that is malformed: %s', async (_case, change) => {
    const tags = signed();
    await expect(
      verifiedClaim({ ...tags, [CLAIM_MAC_TAG]: change(tags[CLAIM_MAC_TAG] ?? '') }, SUBJECT),
    ).resolves.toBeUndefined();
  });

  it('returns undefined for a correctly signed claim dated in the future, without asking KMS', async () => {
    const future = new Date(Date.now() + CLOCK_SKEW_MS + 60_000).toISOString();
    await expect(verifiedClaim(signed(OWNER, future), SUBJECT)).resolves.toBeUndefined();
    expect(kms.commandCalls(VerifyMacCommand)).toHaveLength(0);
  });

  it('returns undefined for unparseable claim tags without asking KMS', async () => {
    await expect(verifiedClaim({ [OWNER_TAG]: EXECUTION }, SUBJECT)).resolves.toBeUndefined();
    expect(kms.calls()).toHaveLength(0);
  });

  it('throws transient AwsUnavailableError when KMS throttles VerifyMac, rather than guess', async () => {
    kms.on(VerifyMacCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(verifiedClaim(signed(), SUBJECT));
    expect(error.name).toBe('AwsUnavailableError');
  });
});

describe('keysBeforeThisExecution', () => {
  const ORPHAN = 'AKIAORPHAN0000000001';
  const AFTER_CLAIM = '2024-05-01T12:00:02.000Z';
  const request = (overrides: Partial<Request> = {}) => makeRequest(overrides);
  const run = (
    tags: Record<string, string>,
    keys: AccessKeyInfo[],
    served: (string | null)[] = [OLD],
    r = request(),
  ) =>
    verifiedClaim(tags, SUBJECT).then((claimed) =>
      keysBeforeThisExecution(r, iamUser(r, 'createKey'), claimed, keys, served),
    );
  const ids = (keys: AccessKeyInfo[]) => keys.map((k) => k.accessKeyId);

  beforeEach(() => {
    iam.on(DeleteAccessKeyCommand).resolves({});
  });

  it('deletes a key created after its own valid claim, made during this execution, that Vault does not hold', async () => {
    const keys = [key(OLD), key(ORPHAN, AFTER_CLAIM)];
    const existing = await run(signedClaimTags(SUBJECT, OWNER, CLAIMED_AT, [OLD]), keys);
    expect(ids(existing)).toEqual([OLD]);
    expect(deleted()).toEqual([ORPHAN]);
  });

  it("allows for IAM's whole-second CreateDate: a key dated in the claim's second counts as after it", async () => {
    const keys = [key(OLD), key(ORPHAN, '2024-05-01T12:00:01.000Z')];
    await run(signedClaimTags(SUBJECT, OWNER, CLAIMED_AT, [OLD]), keys);
    expect(deleted()).toEqual([ORPHAN]);
  });

  it('deletes no key created before its own valid claim, even one missing from it', async () => {
    const keys = [key(OLD), key(ORPHAN, '2024-05-01T12:00:00.000Z')];
    const existing = await run(signedClaimTags(SUBJECT, OWNER, CLAIMED_AT, [OLD]), keys);
    expect(ids(existing)).toEqual([OLD, ORPHAN]);
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
  });

  it("deletes nothing under a valid claim with this execution's name made before it started (a re-used name)", async () => {
    const earlier = '2024-01-01T00:00:00.000Z';
    const keys = [key(OLD, '2023-01-01T00:00:00.000Z'), key(ORPHAN, '2024-02-01T00:00:00.000Z')];
    const existing = await run(signedClaimTags(SUBJECT, OWNER, earlier, [OLD]), keys);
    expect(ids(existing)).toEqual([OLD, ORPHAN]);
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
    expect(Date.parse(earlier)).toBeLessThan(Date.parse(STARTED_AT) - CLOCK_SKEW_MS);
  });

  it.each([
    [
      'unsigned',
      (tags: Record<string, string>) => ({
        [OWNER_TAG]: tags[OWNER_TAG] ?? '',
        [CLAIM_TAG]: tags[CLAIM_TAG] ?? '',
      }),
    ],
    [
      'signed with a wrong MAC',
      (tags: Record<string, string>) => ({
        ...tags,
        [CLAIM_MAC_TAG]: `v1 ${Buffer.alloc(32).toString('base64')}`,
      }),
    ],
    [
      're-dated under the MAC of an earlier claim',
      (tags: Record<string, string>) => ({ ...tags, [CLAIM_TAG]: `2024-05-01T12:00:01.900Z ${OLD}` }),
    ],
  ])(
    'deletes nothing under a forged claim (%s) naming this execution: no DeleteAccessKey at all',
    async (_case, forge) => {
      const keys = [key(OLD), key(ORPHAN, AFTER_CLAIM)];
      const existing = await run(forge(signedClaimTags(SUBJECT, OWNER, CLAIMED_AT, [OLD])), keys);
      expect(ids(existing)).toEqual([OLD, ORPHAN]);
      expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
    },
  );

  it('throws ConcurrentRotationError under a fresh valid claim of another execution with a key not in Vault', async () => {
    const other = `${EXECUTION}-other`;
    const now = new Date(Date.now() - 60_000).toISOString();
    const error = await rejectionOf(
      run(signedClaimTags(SUBJECT, other, now, [OLD]), [key(OLD), key(ORPHAN, now)]),
    );
    expect(error.name).toBe('ConcurrentRotationError');
    expect(error.message).toContain(other);
    expect(error.message).toContain(ORPHAN);
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
  });

  it('counts every key as existing under a forged fresh claim of another execution: a forged claim blocks nothing', async () => {
    const now = new Date(Date.now() - 60_000).toISOString();
    const tags = { [OWNER_TAG]: `${EXECUTION}-other`, [CLAIM_TAG]: `${now} ${OLD}` };
    const existing = await run(tags, [key(OLD), key(ORPHAN, now)]);
    expect(ids(existing)).toEqual([OLD, ORPHAN]);
  });

  it('counts every key as existing under a stale valid claim of another execution', async () => {
    const stale = new Date(Date.now() - CLAIM_TTL_MS - 60_000).toISOString();
    const existing = await run(signedClaimTags(SUBJECT, `${EXECUTION}-other`, stale, [OLD]), [
      key(OLD),
      key(ORPHAN, stale),
    ]);
    expect(ids(existing)).toEqual([OLD, ORPHAN]);
  });

  it('reports the leftover as gone in a dry run but deletes nothing', async () => {
    const keys = [key(OLD), key(ORPHAN, AFTER_CLAIM)];
    const existing = await run(
      signedClaimTags(SUBJECT, OWNER, CLAIMED_AT, [OLD]),
      keys,
      [OLD],
      request({ dryRun: true }),
    );
    expect(ids(existing)).toEqual([OLD]);
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
  });

  it('returns every key, asking nothing, when the user has no claim', async () => {
    const keys = [key(OLD), key(ORPHAN, AFTER_CLAIM)];
    expect(ids(await run({}, keys))).toEqual([OLD, ORPHAN]);
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('claimUser', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(CLAIMED_AT));
  });

  /** IAM's tags of the user: what TagUser writes, ListUserTags reads back. */
  const tagsKeptByIam = () => {
    const stored: Record<string, string> = {};
    iam.on(TagUserCommand).callsFake((input: { Tags?: { Key?: string; Value?: string }[] }) => {
      for (const tag of input.Tags ?? []) stored[tag.Key ?? ''] = tag.Value ?? '';
      return {};
    });
    iam.on(ListUserTagsCommand).callsFake(() => ({
      Tags: Object.entries(stored).map(([Key, Value]) => ({ Key, Value })),
    }));
    return stored;
  };

  it('writes the owner, the claim (time and existing keys) and the claim MAC in one TagUser call', async () => {
    tagsKeptByIam();
    await claimUser(...creating(makeRequest({ userName: 'bob' })), SUBJECT, [key(OLD), key(OTHER)]);
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(1);
    const claim = `${CLAIMED_AT} ${OLD} ${OTHER}`;
    expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input).toEqual({
      UserName: 'bob',
      Tags: [
        { Key: OWNER_TAG, Value: ownerOf(makeRequest()) },
        { Key: CLAIM_TAG, Value: claim },
        {
          Key: CLAIM_MAC_TAG,
          Value: `v1 ${tagMac('alias/rotator-claim', 'claim', [ACCOUNT_ID, USER_ID, OWNER, claim])}`,
        },
      ],
    });
    expect(kms.commandCalls(GenerateMacCommand)[0]?.args[0].input.KeyId).toBe('alias/rotator-claim');
  });

  it('writes just the time, without a trailing space, when no key exists', async () => {
    tagsKeptByIam();
    await claimUser(...creating(makeRequest()), SUBJECT, []);
    expect(writtenTags()).toContainEqual({ Key: CLAIM_TAG, Value: CLAIMED_AT });
  });

  it('names the tags iam-key-rotator:execution, iam-key-rotator:claim and iam-key-rotator:claim-mac', () => {
    expect(OWNER_TAG).toBe('iam-key-rotator:execution');
    expect(CLAIM_TAG).toBe('iam-key-rotator:claim');
    expect(CLAIM_MAC_TAG).toBe('iam-key-rotator:claim-mac');
  });

  it('writes tag values IAM accepts, within 256 characters, for the longest execution ARN and key id', async () => {
    tagsKeptByIam();
    // State machine and execution names may be 80 characters each; access key ids up to 128.
    const execution = `arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:${'s'.repeat(79)}-:${'r'.repeat(79)}_`;
    const longKey = `AKIA${'Z9'.repeat(62)}`;
    await claimUser(...creating(makeRequest({ execution })), SUBJECT, [key(longKey)]);
    const tags = writtenTags();
    expect(tags).toHaveLength(3);
    for (const tag of tags) {
      expect(tag.Value).toMatch(IAM_TAG_VALUE);
      expect(tag.Value?.length).toBeLessThanOrEqual(MAX_TAG_VALUE);
    }
  });

  it('writes a claim that verifiedClaim accepts', async () => {
    const stored = tagsKeptByIam();
    await claimUser(...creating(makeRequest()), SUBJECT, [key(OLD)]);
    await expect(verifiedClaim(stored, SUBJECT)).resolves.toEqual({
      owner: ownerOf(makeRequest()),
      claimedAt: Date.parse(CLAIMED_AT),
      keys: new Set([OLD]),
    });
  });

  it('throws ConcurrentRotationError naming the other execution when the tags read back differ', async () => {
    iam.on(TagUserCommand).resolves({});
    iam.on(ListUserTagsCommand).resolves({
      Tags: [
        { Key: OWNER_TAG, Value: `${EXECUTION}-other` },
        { Key: CLAIM_TAG, Value: CLAIMED_AT },
      ],
    });
    const error = await rejectionOf(claimUser(...creating(makeRequest()), SUBJECT, []));
    expect(error.name).toBe('ConcurrentRotationError');
    expect(error.message).toContain(`${EXECUTION}-other`);
  });

  it('throws ConcurrentRotationError when only the MAC read back differs (written at the same moment)', async () => {
    const stored = tagsKeptByIam();
    iam.on(ListUserTagsCommand).callsFake(() => ({
      Tags: Object.entries({ ...stored, [CLAIM_MAC_TAG]: 'v1 other' }).map(([Key, Value]) => ({
        Key,
        Value,
      })),
    }));
    expect((await rejectionOf(claimUser(...creating(makeRequest()), SUBJECT, []))).name).toBe(
      'ConcurrentRotationError',
    );
  });

  it('writes no tag when KMS cannot make the MAC', async () => {
    kms.on(GenerateMacCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(claimUser(...creating(makeRequest()), SUBJECT, [key(OLD)]));
    expect(error.name).toBe('AwsUnavailableError');
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
  });

  it('throws AwsUnavailableError when tagging is throttled', async () => {
    iam.on(TagUserCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(claimUser(...creating(makeRequest()), SUBJECT, [key(OLD)]))).name).toBe(
      'AwsUnavailableError',
    );
  });
});

describe('keepClaim', () => {
  const NEW = 'AKIANEWKEY0000000001';
  const written = {
    [OWNER_TAG]: ownerOf(makeRequest()),
    [CLAIM_TAG]: `${CLAIMED_AT} ${OLD}`,
    [CLAIM_MAC_TAG]: 'v1 x',
  };
  const tagsNow = (tags: Record<string, string>) =>
    iam
      .on(ListUserTagsCommand)
      .resolves({ Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });

  beforeEach(() => {
    iam.on(DeleteAccessKeyCommand).resolves({});
  });

  it('keeps the new key while the claim is still this execution’s', async () => {
    tagsNow(written);
    await keepClaim(...creating(makeRequest()), written, NEW);
    expect(deleted()).toEqual([]);
  });

  it('deletes the new key and steps aside when another execution claimed the user meanwhile', async () => {
    tagsNow({ ...written, [OWNER_TAG]: 'arn:other 0123456789abcdef' });
    const error = await rejectionOf(keepClaim(...creating(makeRequest({ userName: 'bob' })), written, NEW));
    expect(error.name).toBe('ConcurrentRotationError');
    expect(error.message).toContain(
      `execution arn:other 0123456789abcdef claimed 'bob' while this execution created ${NEW}`,
    );
    expect(deleted()).toEqual([NEW]);
  });

  it('deletes the new key, rather than orphan it, when the tags cannot be read', async () => {
    iam.on(ListUserTagsCommand).rejects(sdkError('AccessDenied', 403));
    const error = await rejectionOf(keepClaim(...creating(makeRequest()), written, NEW));
    expect(error.name).toBe('AwsRequestError');
    expect(deleted()).toEqual([NEW]);
  });
});

describe('unclaimedKeys', () => {
  it('returns the keys created after the claim that Vault does not hold', () => {
    const keys = [key(OLD), key(NEW, '2024-05-01T12:00:03.000Z')];
    expect(unclaimedKeys(claimOfKeys([OLD]), keys, [OLD]).map((k) => k.accessKeyId)).toEqual([NEW]);
  });

  it('keeps a key that existed at claim time even if it was created in the same second as the start', () => {
    // IAM dates have second precision: by date alone this key would pass for one created by the execution.
    const sameSecond = key(OTHER, `${STARTED_AT.slice(0, 19)}Z`);
    expect(unclaimedKeys(claimOfKeys([OTHER]), [sameSecond], [])).toEqual([]);
  });

  it('returns a key created after the claim whatever its date', () => {
    const backdated = key(NEW, '2020-01-01T00:00:00.000Z');
    expect(unclaimedKeys(claimOfKeys([OLD]), [key(OLD), backdated], [])).toEqual([backdated]);
  });

  it('ignores the new key once Vault holds it', () => {
    expect(unclaimedKeys(claimOfKeys([OLD]), [key(OLD), key(NEW)], [NEW])).toEqual([]);
  });

  it('returns every key for a claim made when the user had none', () => {
    expect(unclaimedKeys(claimOfKeys([]), [key(OLD), key(NEW)], []).map((k) => k.accessKeyId)).toEqual([
      OLD,
      NEW,
    ]);
  });

  it('returns nothing when every key was in the claim', () => {
    expect(unclaimedKeys(claimOfKeys([OLD, OTHER]), [key(OLD), key(OTHER)], [])).toEqual([]);
  });
});

describe('isFresh', () => {
  const claimed = claimOfKeys([OLD]);
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
