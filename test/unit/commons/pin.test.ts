import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AccessKeyInfo, iamUser } from '../../../functions/commons/iam.js';
import type { Request } from '../../../functions/commons/input.js';
import { CLAIM_MAC_TAG, CLAIM_TAG, OWNER_TAG } from '../../../functions/commons/ownership.js';
import {
  checkVaultPathPin,
  CLOCK_SKEW_MS,
  describeServed,
  isActiveKeyOf,
  pinTags,
  pinVerifiedPath,
  readPin,
  TAMPER_PHRASE,
  type TagSubject,
  VAULT_PATH_MAC_TAG,
  VAULT_PATH_TAG,
} from '../../../functions/commons/pin.js';
import {
  CLAIM_TAG_KEYS,
  FUNCTION_STATEMENTS,
  type FunctionName,
  ROTATOR_TAG_KEYS,
  VAULT_PATH_TAG_KEY,
} from '../../../deploy/policies.cjs';
import {
  ACCOUNT_ID,
  makeRequest,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  setAwsAuthEnv,
  signedClaimTags,
  signedPinTags,
  tagMac,
  useFakeKms,
} from '../support.js';

const iam = resetBeforeEach(mockClient(IAMClient));
const { kms } = useFakeKms();

/** What IAM accepts in a tag value. */
const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAG_VALUE = 256;

const PATH = 'aws/iam-users/ci';
const USER_ID = 'AIDAEXAMPLEUSER00001';
const SUBJECT: TagSubject = { accountId: ACCOUNT_ID, userId: USER_ID, userName: 'ci' };
const SIGNED_AT = '2024-05-01T12:00:00.000Z';

beforeAll(() => {
  setAwsAuthEnv();
});

/** A request and its user, as verifyKey passes them. */
const verifying = (request: Request) => [request, iamUser(request, 'verifyKey')] as const;
const written = () => iam.commandCalls(TagUserCommand).map((c) => c.args[0].input.Tags);
const tagMap = (tags: { Key?: string; Value?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

describe('the tags', () => {
  it('names the pin tags iam-key-rotator:vault-path and iam-key-rotator:vault-path-mac', () => {
    expect(VAULT_PATH_TAG).toBe('iam-key-rotator:vault-path');
    expect(VAULT_PATH_MAC_TAG).toBe('iam-key-rotator:vault-path-mac');
    expect(VAULT_PATH_TAG_KEY).toBe(VAULT_PATH_TAG);
  });

  it('lets verifyKey tag only the pin (with its MAC) and createKey only its claim (with its MAC), as deploy/policies.cjs lists them', () => {
    const tagKeys = (fn: FunctionName) =>
      FUNCTION_STATEMENTS[fn]
        .filter((s) => [s.Action].flat().includes('iam:TagUser'))
        .map((s) => s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']);
    expect(CLAIM_TAG_KEYS).toEqual([OWNER_TAG, CLAIM_TAG, CLAIM_MAC_TAG]);
    expect(ROTATOR_TAG_KEYS).toEqual([
      OWNER_TAG,
      CLAIM_TAG,
      CLAIM_MAC_TAG,
      VAULT_PATH_TAG,
      VAULT_PATH_MAC_TAG,
    ]);
    expect(tagKeys('verifyKey')).toEqual([[VAULT_PATH_TAG, VAULT_PATH_MAC_TAG]]);
    expect(tagKeys('createKey')).toEqual([[OWNER_TAG, CLAIM_TAG, CLAIM_MAC_TAG]]);
  });
});

describe('readPin', () => {
  const tamper = async (tags: Record<string, string>, subject = SUBJECT) => {
    const error = await rejectionOf(readPin(tags, subject));
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain(TAMPER_PHRASE);
    expect(error.message).toContain(`the pin of 'ci' was changed outside the rotator`);
    return error;
  };

  it('returns null for a user never pinned, without asking KMS', async () => {
    await expect(readPin({ [OWNER_TAG]: 'x' }, SUBJECT)).resolves.toBeNull();
    expect(kms.calls()).toHaveLength(0);
  });

  it('returns an unsigned pin (written by an earlier version) as signed false, without asking KMS', async () => {
    await expect(readPin({ [VAULT_PATH_TAG]: PATH }, SUBJECT)).resolves.toEqual({
      path: PATH,
      signed: false,
    });
    expect(kms.calls()).toHaveLength(0);
  });

  it('reads the commas a path had back from the colons IAM tag values allow', async () => {
    await expect(readPin({ [VAULT_PATH_TAG]: 'aws/iam-users/a:b' }, SUBJECT)).resolves.toEqual({
      path: 'aws/iam-users/a,b',
      signed: false,
    });
  });

  it('returns a pin whose MAC verifies as signed, checked with KMS VerifyMac under the pin key', async () => {
    await expect(readPin(signedPinTags(SUBJECT, PATH, SIGNED_AT), SUBJECT)).resolves.toEqual({
      path: PATH,
      signed: true,
    });
    expect(kms.commandCalls(VerifyMacCommand)[0]?.args[0].input.KeyId).toBe('alias/rotator-pin');
  });

  it('verifies a signed path with commas', async () => {
    const path = 'aws/iam-users/a,b';
    await expect(readPin(signedPinTags(SUBJECT, path, SIGNED_AT), SUBJECT)).resolves.toEqual({
      path,
      signed: true,
    });
  });

  it('accepts a signature dated slightly ahead of this clock (clocks differ)', async () => {
    const time = new Date(Date.now() + CLOCK_SKEW_MS / 2).toISOString();
    await expect(readPin(signedPinTags(SUBJECT, PATH, time), SUBJECT)).resolves.toMatchObject({
      signed: true,
    });
  });

  it('throws InvalidInputError "was changed outside the rotator" for a MAC tag without a pin tag', async () => {
    const { [VAULT_PATH_MAC_TAG]: mac } = signedPinTags(SUBJECT, PATH, SIGNED_AT);
    await tamper({ [VAULT_PATH_MAC_TAG]: mac ?? '' });
    await tamper({ [VAULT_PATH_TAG]: '', [VAULT_PATH_MAC_TAG]: mac ?? '' });
  });

  it('throws it for a path rewritten under the old MAC', async () => {
    const tags = signedPinTags(SUBJECT, PATH, SIGNED_AT);
    const error = await tamper({ ...tags, [VAULT_PATH_TAG]: 'aws/iam-users/attacker' });
    expect(error.message).toContain(`'aws/iam-users/attacker'`);
  });

  it('throws it for a pin signed for another user id (a deleted and re-created user inherits nothing)', async () => {
    await tamper(signedPinTags({ accountId: ACCOUNT_ID, userId: 'AIDAOLDUSER000000001' }, PATH, SIGNED_AT));
  });

  it('throws it for a pin signed for the same user id in another account', async () => {
    await tamper(signedPinTags({ accountId: '222222222222', userId: USER_ID }, PATH, SIGNED_AT));
  });

  it('throws it for a backdated or re-dated signature (the time is signed too)', async () => {
    const tags = signedPinTags(SUBJECT, PATH, SIGNED_AT);
    const mac = (tags[VAULT_PATH_MAC_TAG] ?? '').split(' ')[2] ?? '';
    await tamper({ ...tags, [VAULT_PATH_MAC_TAG]: `v1 2024-06-01T00:00:00.000Z ${mac}` });
  });

  it('throws it for a pin signed with the claim key (each tag kind has its own key)', async () => {
    const mac = tagMac('alias/rotator-claim', 'pin', [ACCOUNT_ID, USER_ID, PATH, SIGNED_AT]);
    await tamper({ [VAULT_PATH_TAG]: PATH, [VAULT_PATH_MAC_TAG]: `v1 ${SIGNED_AT} ${mac}` });
  });

  it('throws it for a signature dated in the future, without asking KMS', async () => {
    const time = new Date(Date.now() + CLOCK_SKEW_MS + 60_000).toISOString();
    const error = await tamper(signedPinTags(SUBJECT, PATH, time));
    expect(error.message).toContain('in the future');
    expect(kms.commandCalls(VerifyMacCommand)).toHaveLength(0);
  });

  it.each([
    ['empty', ''],
    ['another version', (v: string) => v.replace(/^v1 /, 'v2 ')],
    ['without a MAC', `v1 ${SIGNED_AT}`],
    ['without a time', (v: string) => `v1 ${v.split(' ')[2] ?? ''}`],
    ['with a time that is not a date', (v: string) => `v1 yesterday ${v.split(' ')[2] ?? ''}`],
    ['with a trailing field', (v: string) => `${v} extra`],
    ['with a MAC that is not base64 of 32 bytes', `v1 ${SIGNED_AT} ${'A'.repeat(20)}`],
  ])('throws it for a MAC tag that is malformed: %s', async (_case, value) => {
    const tags = signedPinTags(SUBJECT, PATH, SIGNED_AT);
    const mac = tags[VAULT_PATH_MAC_TAG] ?? '';
    await tamper({ ...tags, [VAULT_PATH_MAC_TAG]: typeof value === 'string' ? value : value(mac) });
  });

  it('throws transient AwsUnavailableError, not tampering, when KMS throttles VerifyMac', async () => {
    kms.on(VerifyMacCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(readPin(signedPinTags(SUBJECT, PATH, SIGNED_AT), SUBJECT));
    expect(error.name).toBe('AwsUnavailableError');
    expect(error).toMatchObject({ transient: true });
    expect(error.message).not.toContain(TAMPER_PHRASE);
  });

  it('names the tags to remove and where to look in the tamper message', async () => {
    const error = await tamper({ [VAULT_PATH_TAG]: PATH, [VAULT_PATH_MAC_TAG]: 'v1 bogus' });
    expect(error.message).toContain('CloudTrail');
    expect(error.message).toContain(`remove the tags ${VAULT_PATH_TAG} and ${VAULT_PATH_MAC_TAG}`);
  });
});

describe('pinTags', () => {
  it('signs the path for the account and user id at the current time, as readPin verifies it', async () => {
    const before = Date.now();
    const tags = await pinTags(SUBJECT, PATH);
    expect(tags[VAULT_PATH_TAG]).toBe(PATH);
    const [version, time, mac] = (tags[VAULT_PATH_MAC_TAG] ?? '').split(' ');
    expect(version).toBe('v1');
    expect(Date.parse(time ?? '')).toBeGreaterThanOrEqual(before);
    expect(mac).toBe(tagMac('alias/rotator-pin', 'pin', [ACCOUNT_ID, USER_ID, PATH, time ?? '']));
    await expect(readPin(tags, SUBJECT)).resolves.toEqual({ path: PATH, signed: true });
    expect(kms.commandCalls(GenerateMacCommand)[0]?.args[0].input.KeyId).toBe('alias/rotator-pin');
  });

  it('writes values IAM accepts, within 256 characters, for a long path with commas', async () => {
    const path = `aws/iam-users/a,b@corp/${'x'.repeat(200)}`;
    const tags = await pinTags(SUBJECT, path);
    for (const value of Object.values(tags)) {
      expect(value).toMatch(IAM_TAG_VALUE);
      expect(value.length).toBeLessThanOrEqual(MAX_TAG_VALUE);
    }
    await expect(readPin(tags, SUBJECT)).resolves.toEqual({ path, signed: true });
  });
});

describe('isActiveKeyOf and describeServed', () => {
  const keys: AccessKeyInfo[] = [
    { accessKeyId: 'AKIAACTIVE', status: 'Active', createDate: SIGNED_AT },
    { accessKeyId: 'AKIAINACTIVE', status: 'Inactive', createDate: SIGNED_AT },
  ];

  it("is true only for one of the user's Active keys", () => {
    expect(isActiveKeyOf('AKIAACTIVE', keys)).toBe(true);
    expect(isActiveKeyOf('AKIAINACTIVE', keys)).toBe(false);
    expect(isActiveKeyOf('AKIAOTHER', keys)).toBe(false);
    expect(isActiveKeyOf(null, keys)).toBe(false);
    expect(isActiveKeyOf(undefined, keys)).toBe(false);
  });

  it('describes no key, a key of the user with its status, and a key of nobody here', () => {
    expect(describeServed(null, keys)).toBe('no key');
    expect(describeServed('AKIAINACTIVE', keys)).toBe('AKIAINACTIVE (Inactive)');
    expect(describeServed('AKIAOTHER', keys)).toBe('AKIAOTHER, which is not a key of this user');
  });
});

describe('checkVaultPathPin', () => {
  it('accepts the pinned path, and another path with moveVaultPath', () => {
    expect(() => checkVaultPathPin(makeRequest({ vaultPath: PATH }), PATH)).not.toThrow();
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
});

describe('pinVerifiedPath', () => {
  const request = (overrides: Partial<Request> = {}) =>
    makeRequest({ userName: 'ci', vaultPath: PATH, ...overrides });

  it('pins a user never pinned with both tags, the path and "v1 <time> <MAC>" that readPin verifies', async () => {
    iam.on(TagUserCommand).resolves({});
    await expect(pinVerifiedPath(...verifying(request()), { path: null, userId: USER_ID })).resolves.toEqual({
      pinned: true,
    });
    expect(written()).toHaveLength(1);
    const tags = tagMap(written()[0]);
    expect(Object.keys(tags)).toEqual([VAULT_PATH_TAG, VAULT_PATH_MAC_TAG]);
    expect(tags[VAULT_PATH_TAG]).toBe(PATH);
    expect(tags[VAULT_PATH_MAC_TAG]).toMatch(
      /^v1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Za-z0-9+/]{43}=$/,
    );
    await expect(readPin(tags, SUBJECT)).resolves.toEqual({ path: PATH, signed: true });
  });

  it('pins a user of an execution that predates pins (no pinnedVaultPath) the same way', async () => {
    iam.on(TagUserCommand).resolves({});
    await expect(
      pinVerifiedPath(...verifying(request()), { path: undefined, userId: USER_ID }),
    ).resolves.toEqual({
      pinned: true,
    });
    expect(Object.keys(tagMap(written()[0]))).toEqual([VAULT_PATH_TAG, VAULT_PATH_MAC_TAG]);
  });

  it('signs in the account the execution rotates in', async () => {
    iam.on(TagUserCommand).resolves({});
    const member = request({ accountId: '222222222222' });
    await pinVerifiedPath(...verifying(member), { path: null, userId: USER_ID });
    const tags = tagMap(written()[0]);
    await expect(readPin(tags, { ...SUBJECT, accountId: '222222222222' })).resolves.toMatchObject({
      signed: true,
    });
    await expect(rejectionOf(readPin(tags, SUBJECT))).resolves.toMatchObject({ name: 'InvalidInputError' });
  });

  it('writes nothing when the user has a signed pin to the verified path already', async () => {
    for (const signed of [true, undefined]) {
      await expect(
        pinVerifiedPath(...verifying(request()), { path: PATH, signed, userId: USER_ID }),
      ).resolves.toEqual({
        pinned: true,
      });
    }
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
  });

  it('signs an unsigned pin (of an earlier version) to the verified path, reporting no move', async () => {
    iam.on(TagUserCommand).resolves({});
    const result = await pinVerifiedPath(...verifying(request()), {
      path: PATH,
      signed: false,
      userId: USER_ID,
    });
    expect(result).toEqual({ pinned: true });
    await expect(readPin(tagMap(written()[0]), SUBJECT)).resolves.toEqual({ path: PATH, signed: true });
  });

  it('re-pins a moved key and reports the move and that the old path’s consumers must switch', async () => {
    iam.on(TagUserCommand).resolves({});
    const moved = await pinVerifiedPath(
      ...verifying(request({ vaultPath: `${PATH}/v2`, moveVaultPath: true })),
      {
        path: PATH,
        signed: true,
        userId: USER_ID,
      },
    );
    expect(moved).toEqual({
      pinned: true,
      moved: {
        from: PATH,
        to: `${PATH}/v2`,
        notice: `consumers of ${PATH} must read ${PATH}/v2 from now on: ${PATH} keeps the old key, which is deactivated after the grace period`,
      },
    });
    await expect(readPin(tagMap(written()[0]), SUBJECT)).resolves.toEqual({
      path: `${PATH}/v2`,
      signed: true,
    });
  });

  it('fails a move whose MAC KMS cannot make, writing no tag: the next rotation would follow the old pin', async () => {
    kms.on(GenerateMacCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(
      pinVerifiedPath(...verifying(request({ vaultPath: `${PATH}/v2`, moveVaultPath: true })), {
        path: PATH,
        signed: true,
        userId: USER_ID,
      }),
    );
    expect(error.name).toBe('AwsUnavailableError');
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
  });

  it('reports a first pin whose MAC KMS cannot make as not written, naming the error, instead of failing', async () => {
    kms.on(GenerateMacCommand).rejects(sdkError('AccessDeniedException', 400));
    await expect(pinVerifiedPath(...verifying(request()), { path: null, userId: USER_ID })).resolves.toEqual({
      pinned: false,
      pinFailure: 'AwsRequestError: kms:GenerateMac failed: AccessDeniedException (HTTP 400)',
    });
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
  });

  it('reports a first pin of an execution without the user id (started before pins were signed) as not written', async () => {
    const result = await pinVerifiedPath(...verifying(request()), { path: null });
    expect(result).toEqual({
      pinned: false,
      pinFailure: 'InvalidInputError: the execution started before pins were signed',
    });
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(0);
  });

  it.each([
    ['AccessDenied', sdkError('AccessDenied', 403, { Code: 'AccessDenied' })],
    ['LimitExceeded', sdkError('LimitExceeded', 409, { Code: 'LimitExceeded' })],
  ])(
    'reports a first pin IAM refuses (%s) as not written, naming the error, instead of failing',
    async (code, refusal) => {
      iam.on(TagUserCommand).rejects(refusal);
      const result = await pinVerifiedPath(...verifying(request()), { path: null, userId: USER_ID });
      expect(result).toEqual({
        pinned: false,
        pinFailure: `AwsRequestError: iam:TagUser failed: ${code} (HTTP ${code === 'AccessDenied' ? 403 : 409})`,
      });
    },
  );

  it('fails a move whose pin IAM refuses: the next rotation would follow the old pin', async () => {
    iam.on(TagUserCommand).rejects(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
    const error = await rejectionOf(
      pinVerifiedPath(...verifying(request({ vaultPath: `${PATH}/v2`, moveVaultPath: true })), {
        path: PATH,
        signed: true,
        userId: USER_ID,
      }),
    );
    expect(error.name).toBe('AwsRequestError');
  });

  it('stores a path with commas (IAM allows none in tag values) as a value IAM accepts and reads it back', async () => {
    iam.on(TagUserCommand).resolves({});
    const path = `aws/iam-users/a,b@corp/${'x'.repeat(200)}`;
    await pinVerifiedPath(...verifying(request({ vaultPath: path })), { path: null, userId: USER_ID });
    const tags = tagMap(written()[0]);
    for (const value of Object.values(tags)) {
      expect(value).toMatch(IAM_TAG_VALUE);
      expect(value.length).toBeLessThanOrEqual(MAX_TAG_VALUE);
    }
    await expect(readPin(tags, SUBJECT)).resolves.toEqual({ path, signed: true });
  });
});

describe('a claim is not a pin', () => {
  it('does not verify a claim MAC offered as a pin MAC', async () => {
    const claim = signedClaimTags(SUBJECT, 'owner', SIGNED_AT, []);
    const mac = (claim[CLAIM_MAC_TAG] ?? '').split(' ')[1] ?? '';
    const error = await rejectionOf(
      readPin({ [VAULT_PATH_TAG]: PATH, [VAULT_PATH_MAC_TAG]: `v1 ${SIGNED_AT} ${mac}` }, SUBJECT),
    );
    expect(error.message).toContain(TAMPER_PHRASE);
  });
});
