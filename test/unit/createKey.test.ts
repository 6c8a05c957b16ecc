import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { EncryptCommand, GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Request } from '../../functions/commons/input.js';
import {
  CLAIM_MAC_TAG,
  CLAIM_TAG,
  CLAIM_TTL_MS,
  OWNER_TAG,
  ownerOf,
} from '../../functions/commons/ownership.js';
import { TAMPER_PHRASE, VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import { Created as CreatedSchema, type Created, type DryRunPlan } from '../../functions/commons/state.js';
import {
  ACCOUNT_ID,
  commandNames,
  EXECUTION,
  installFakeMac,
  IAM_WRITES,
  keyMeta,
  makeRequest,
  noSuchEntity,
  OLD_SECRET,
  rejectionOf,
  resetBeforeEach,
  SECRET,
  sdkError,
  setHandlerEnv,
  signedClaimTags,
  signedPinTags,
  STARTED_AT,
  tagMac,
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

type Output = (Created | DryRunPlan) & { request: Request };
type Handler = (event: unknown) => Promise<Output>;

/** How this execution names itself in the claim tag. */
const OWNER = ownerOf(makeRequest());
const { vault, handler, deployment } = useHandler<Output>(() => import('../../functions/createKey.js'));
const iam = resetBeforeEach(mockClient(IAMClient));
const { kms, fakeKms } = useFakeKms();

const NEW_KEY = 'AKIANEWKEY0000000001';
const OTHER_KEY = 'AKIAOLDKEY0000000002';
const LONG_BEFORE = '2023-01-01T08:00:00Z';
const SINCE_START = '2024-05-01T12:00:01Z';

/** A claim on the user's tags: its owner, when (`at`, or `ageMs` ago), the keys it lists, and whether the rotator signed it. */
interface ClaimTags {
  owner: string;
  ageMs?: number;
  at?: string;
  keys: string[];
  signed?: boolean;
}

interface Scenario {
  keys?: ReturnType<typeof keyMeta>[];
  claim?: ClaimTags;
  /** Raw user tags, for claims that are malformed. */
  tags?: Record<string, string>;
  /** IAM's spelling of the name, when the request spells it otherwise. */
  iamName?: string;
}

/** Whom the rotator's signed tags of this user name: the own account and IAM's id of the user. */
const signee = (userName: string) => ({ accountId: ACCOUNT_ID, userId: userIdOf(userName) });

/** The user tags of a claim made by `owner` while the user had `keys`, signed by the rotator unless `signed` is false. */
function claimTags(userName: string, { owner, ageMs = 60_000, at, keys, signed = true }: ClaimTags) {
  const claimedAt = at ?? new Date(Date.now() - ageMs).toISOString();
  const tags = signedClaimTags(signee(userName), owner, claimedAt, keys);
  return signed ? tags : Object.fromEntries(Object.entries(tags).filter(([key]) => key !== CLAIM_MAC_TAG));
}

/** The signed pin of `userName` to `path`, as verifyKey writes it. */
const signedPin = (userName: string, path: string, time?: string) => ({
  tags: signedPinTags(signee(userName), path, time),
});
/** A pin an earlier version wrote: the path alone, unsigned. */
const unsignedPin = (path: string) => ({ tags: { [VAULT_PATH_TAG]: path } });

/** Mocks IAM for one user: GetUser, ListAccessKeys, tags, and a CreateAccessKey returning NEW_KEY. */
function givenUser(userName: string, { keys = [], claim, tags = {}, iamName = userName }: Scenario = {}) {
  iam.on(GetUserCommand, { UserName: userName }).resolves({
    User: {
      UserName: iamName,
      Arn: userArn(iamName),
      UserId: userIdOf(iamName),
      Path: '/',
      CreateDate: new Date(LONG_BEFORE),
    },
  });
  iam.on(ListAccessKeysCommand, { UserName: iamName }).resolves({ AccessKeyMetadata: keys });
  // Tags as IAM keeps them: what TagUser writes, ListUserTags reads back.
  const userTags: Record<string, string> = { ...tags, ...(claim ? claimTags(iamName, claim) : {}) };
  iam.on(ListUserTagsCommand, { UserName: iamName }).callsFake(() => ({
    Tags: Object.entries(userTags).map(([Key, Value]) => ({ Key, Value })),
  }));
  iam.on(TagUserCommand).callsFake((input: { Tags?: { Key?: string; Value?: string }[] }) => {
    for (const tag of input.Tags ?? []) userTags[tag.Key ?? ''] = tag.Value ?? '';
    return {};
  });
  iam.on(DeleteAccessKeyCommand).resolves({});
  iam.on(CreateAccessKeyCommand, { UserName: iamName }).resolves({
    AccessKey: {
      UserName: iamName,
      AccessKeyId: NEW_KEY,
      SecretAccessKey: SECRET,
      Status: 'Active',
      CreateDate: new Date('2024-05-01T12:00:02Z'),
    },
  });
}

function givenVaultHolds(userName: string, accessKeyId: string): number | undefined {
  return writeAt(vaultPathOf(userName), accessKeyId);
}

const writeAt = (path: string, accessKeyId: string) =>
  vault().writeSecret({
    mount: 'secret',
    path,
    data: { access_key: accessKeyId, secret_key: OLD_SECRET },
  });

const iamWrites = () => commandNames(iam).filter((name) => IAM_WRITES.includes(name));

async function created(event: unknown): Promise<Created & { request: Request }> {
  const result = await handler(event);
  if (result.dryRun) throw new Error('expected a real rotation');
  return result;
}

/** The tags this execution's claim wrote, as a map. */
function claimWritten(): Record<string, string> {
  const tags = iam.commandCalls(TagUserCommand)[0]?.args[0].input.Tags ?? [];
  return Object.fromEntries(tags.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

const deletedKeys = () => iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId);

describe('createKey handler', () => {
  describe('first key', () => {
    it('creates a key for a user without keys and reports no old keys', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      const result = await created({ request: makeRequest({ userName }) });
      expect(result).toMatchObject({
        dryRun: false,
        userArn: userArn(userName),
        accessKeyId: NEW_KEY,
        createDate: '2024-05-01T12:00:02.000Z',
        oldAccessKeyIds: [],
        hasOldKeys: false,
        removedInactiveKeyIds: [],
        vaultBefore: { version: 0, accessKeyId: null },
      });
    });

    it('claims the user with tags naming this execution and the claim time before creating the key', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      const before = Date.now();
      await created({ request: makeRequest({ userName }) });
      const names = commandNames(iam);
      expect(names.filter((name) => name === 'TagUserCommand')).toHaveLength(1);
      expect(names.indexOf('TagUserCommand')).toBeLessThan(names.indexOf('CreateAccessKeyCommand'));
      expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input.UserName).toBe(userName);
      const tags = claimWritten();
      // Since issue 16 the claim carries the claim key's MAC, so a claim nobody but createKey can make.
      expect(Object.keys(tags)).toEqual([OWNER_TAG, CLAIM_TAG, CLAIM_MAC_TAG]);
      expect(tags[OWNER_TAG]).toBe(OWNER);
      expect(tags[CLAIM_MAC_TAG]).toBe(
        `v1 ${tagMac(process.env.ROTATOR_CLAIM_KEY_ID ?? '', 'claim', [ACCOUNT_ID, userIdOf(userName), OWNER, tags[CLAIM_TAG] ?? ''])}`,
      );
      expect(tags[CLAIM_TAG]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const claimedAt = Date.parse(tags[CLAIM_TAG] ?? '');
      expect(claimedAt).toBeGreaterThanOrEqual(before);
      expect(claimedAt).toBeLessThanOrEqual(Date.now());
    });

    it('writes claim tag values IAM accepts, within 256 characters', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      await created({ request: makeRequest({ userName }) });
      for (const value of Object.values(claimWritten())) {
        expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
        expect(value.length).toBeLessThanOrEqual(256);
      }
    });

    it('returns the secret only sealed, never in clear', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      const result = await created({ request: makeRequest({ userName }) });
      expect(JSON.stringify(result)).not.toContain(SECRET);
      expect(fakeKms.sealed.get(result.sealedSecret.ciphertext)?.plaintext).toBe(SECRET);
    });

    it('binds the KMS encryption context to execution, user and new key id', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      await created({ request: makeRequest({ userName }) });
      expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({
        'iam-key-rotator:execution': EXECUTION,
        'iam-key-rotator:user': userName,
        'iam-key-rotator:access-key-id': NEW_KEY,
        'iam-key-rotator:purpose': 'new-secret',
      });
    });

    it('does not write to Vault', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      await created({ request: makeRequest({ userName }) });
      expect(vault().readSecret('secret', vaultPathOf(userName))).toBeUndefined();
    });
  });

  describe('with one existing key', () => {
    it('records the existing key in oldAccessKeyIds and what Vault held before', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName }) });
      expect(result).toMatchObject({
        oldAccessKeyIds: [OLD_KEY],
        hasOldKeys: true,
        removedInactiveKeyIds: [],
        vaultBefore: { version: 1, accessKeyId: OLD_KEY },
      });
      expect(deletedKeys()).toEqual([]);
    });

    it('lists the existing key in the claim', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      await created({ request: makeRequest({ userName }) });
      expect(claimWritten()[CLAIM_TAG]?.split(' ').slice(1)).toEqual([OLD_KEY]);
    });

    it('keeps no sealed copy of the previous value on KV v2, whose old version stays readable', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName }) });
      expect(result.vaultBefore).toEqual({ version: 1, accessKeyId: OLD_KEY });
      expect(kms.commandCalls(EncryptCommand)).toHaveLength(1);
    });

    it('records an Inactive key as old without deleting it', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Inactive', BEFORE)] });
      const result = await created({ request: makeRequest({ userName, deleteInactiveKey: true }) });
      expect(result.oldAccessKeyIds).toEqual([OLD_KEY]);
      expect(deletedKeys()).toEqual([]);
    });
  });

  describe('at the quota of two keys', () => {
    it('throws TooManyAccessKeysError when the user already has two keys and none may be removed', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(OTHER_KEY, 'Inactive', BEFORE)],
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(error.message).toContain('set deleteInactiveKey');
      expect(iam.commandCalls(CreateAccessKeyCommand)).toHaveLength(0);
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    });

    it('deletes only the Inactive key Vault does not hold when deleteInactiveKey is set', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(OTHER_KEY, 'Inactive', BEFORE)],
      });
      givenVaultHolds(userName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName, deleteInactiveKey: true }) });
      expect(deletedKeys()).toEqual([OTHER_KEY]);
      expect(result).toMatchObject({
        oldAccessKeyIds: [OLD_KEY],
        hasOldKeys: true,
        removedInactiveKeyIds: [OTHER_KEY],
      });
      const names = commandNames(iam);
      expect(names.indexOf('DeleteAccessKeyCommand')).toBeLessThan(names.indexOf('CreateAccessKeyCommand'));
      expect(claimWritten()[CLAIM_TAG]?.split(' ').slice(1)).toEqual([OLD_KEY]);
    });

    it('deletes just one of two Inactive keys', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Inactive', LONG_BEFORE), keyMeta(OTHER_KEY, 'Inactive', BEFORE)],
      });
      const result = await created({ request: makeRequest({ userName, deleteInactiveKey: true }) });
      expect(deletedKeys()).toHaveLength(1);
      expect(result.removedInactiveKeyIds).toHaveLength(1);
      expect(result.oldAccessKeyIds).toHaveLength(1);
    });

    it('throws TooManyAccessKeysError rather than delete the Inactive key Vault holds', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Inactive', LONG_BEFORE), keyMeta(OTHER_KEY, 'Active', BEFORE)],
      });
      givenVaultHolds(userName, OLD_KEY);
      // The path serves an Inactive key, not its Active one: only an adopted path gets this far.
      const error = await rejectionOf(
        handler({ request: makeRequest({ userName, deleteInactiveKey: true, adoptVaultPath: true }) }),
      );
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(error.message).toContain('none of them is an Inactive key');
      expect(deletedKeys()).toEqual([]);
      expect(iam.commandCalls(CreateAccessKeyCommand)).toHaveLength(0);
    });

    it('throws TooManyAccessKeysError when both keys are Active even with deleteInactiveKey', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(OTHER_KEY, 'Active', BEFORE)],
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(
        handler({ request: makeRequest({ userName, deleteInactiveKey: true }) }),
      );
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(deletedKeys()).toEqual([]);
    });

    it('throws ConcurrentRotationError when IAM refuses CreateAccessKey with LimitExceeded after the count', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      iam.on(CreateAccessKeyCommand).rejects(
        Object.assign(new LimitExceededException({ message: 'quota', $metadata: { httpStatusCode: 409 } }), {
          Code: 'LimitExceeded',
        }),
      );
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('ConcurrentRotationError');
      expect(error.message).toContain(`'${userName}'`);
      expect(deletedKeys()).toEqual([]);
      // Since issue 16 the claim is signed (GenerateMac) before CreateAccessKey: nothing was sealed.
      expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
    });

    it('passes on other CreateAccessKey failures unchanged', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      iam.on(CreateAccessKeyCommand).rejects(sdkError('ServiceFailure', 500));
      expect((await rejectionOf(handler({ request: makeRequest({ userName }) }))).name).toBe(
        'AwsUnavailableError',
      );
    });
  });

  describe('dry run', () => {
    it('reports the plan and makes no write calls', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(OTHER_KEY, 'Inactive', BEFORE)],
      });
      givenVaultHolds(userName, OLD_KEY);
      const request = makeRequest({ userName, dryRun: true, deleteInactiveKey: true });
      const result = await handler({ request });
      expect(result).toEqual({
        request,
        dryRun: true,
        userArn: userArn(userName),
        existingAccessKeyIds: [OLD_KEY, OTHER_KEY],
        wouldRemoveInactiveKeyIds: [OTHER_KEY],
        vaultBefore: { version: 1, accessKeyId: OLD_KEY },
      });
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
      expect(kms.calls()).toHaveLength(0);
      expect(vault().readSecret('secret', vaultPathOf(userName))?.metadata?.version).toBe(1);
    });

    it('throws TooManyAccessKeysError when a rotation would', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(OTHER_KEY, 'Active', BEFORE)],
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName, dryRun: true }) }));
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    });
  });

  describe('keys of an earlier attempt', () => {
    const ORPHAN = 'AKIAORPHAN0000000001';
    const OTHER_EXECUTION = `${EXECUTION}-other`;

    it('deletes an unstored key missing from its own claim, before claiming again and creating', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta(ORPHAN, 'Active', SINCE_START)],
        claim: { owner: OWNER, at: OWN_CLAIM_AT, keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual([ORPHAN]);
      expect(result.oldAccessKeyIds).toEqual([OLD_KEY]);
      expect(result.accessKeyId).toBe(NEW_KEY);
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([
        'DeleteAccessKeyCommand',
        'TagUserCommand',
        'CreateAccessKeyCommand',
      ]);
      expect(claimWritten()[CLAIM_TAG]?.split(' ').slice(1)).toEqual([OLD_KEY]);
    });

    it('keeps a key its claim lists even when it was created in the same second as the start', async () => {
      // IAM dates have second precision: by its date this key could pass for one this execution made.
      const userName = uniqueUser();
      const sameSecond = 'AKIASAMESECOND000001';
      givenUser(userName, {
        keys: [
          keyMeta(sameSecond, 'Active', `${STARTED_AT.slice(0, 19)}Z`),
          keyMeta(ORPHAN, 'Active', SINCE_START),
        ],
        claim: { owner: OWNER, at: OWN_CLAIM_AT, keys: [sameSecond] },
      });
      givenVaultHolds(userName, sameSecond);
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual([ORPHAN]);
      expect(result.oldAccessKeyIds).toEqual([sameSecond]);
    });

    it('deletes nothing on a retry whose earlier attempt created no key', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', BEFORE)],
        claim: { owner: OWNER, at: OWN_CLAIM_AT, keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual([OLD_KEY]);
    });

    it('throws ConcurrentRotationError for a fresh claim of another execution with a key not in Vault, writing nothing', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta(ORPHAN, 'Active', SINCE_START)],
        claim: { owner: OTHER_EXECUTION, keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('ConcurrentRotationError');
      expect(error.message).toContain(ORPHAN);
      expect(error.message).toContain(OTHER_EXECUTION);
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
      // Since issue 16 the claim is verified (VerifyMac): KMS is asked, but nothing is signed or sealed.
      expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
      expect(kms.commandCalls(GenerateMacCommand)).toHaveLength(0);
    });

    it('throws ConcurrentRotationError in a dry run too, writing nothing', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta(ORPHAN, 'Active', SINCE_START)],
        claim: { owner: OTHER_EXECUTION, keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName, dryRun: true }) }));
      expect(error.name).toBe('ConcurrentRotationError');
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    });

    it('counts every key as existing when the claim of another execution is stale', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(ORPHAN, 'Active', SINCE_START)],
        claim: { owner: OTHER_EXECUTION, ageMs: CLAIM_TTL_MS + 60_000, keys: [] },
      });
      const result = await created({ request: makeRequest({ userName, adoptVaultPath: true }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual([ORPHAN]);
      expect(claimWritten()[OWNER_TAG]).toBe(OWNER);
    });

    it('goes ahead under a fresh claim of another execution when every key is claimed or in Vault', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta('AKIASTORED0000000001', 'Active', SINCE_START)],
        claim: { owner: OTHER_EXECUTION, keys: [] },
      });
      givenVaultHolds(userName, 'AKIASTORED0000000001');
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual(['AKIASTORED0000000001']);
    });

    it('leaves the key Vault already serves alone under its own claim', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Inactive', BEFORE), keyMeta('AKIASTORED0000000001', 'Active', SINCE_START)],
        claim: { owner: OWNER, at: OWN_CLAIM_AT, keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, 'AKIASTORED0000000001');
      const result = await created({ request: makeRequest({ userName, deleteInactiveKey: true }) });
      expect(deletedKeys()).toEqual([OLD_KEY]);
      expect(result.oldAccessKeyIds).toEqual(['AKIASTORED0000000001']);
    });

    it('counts a new key of an unclaimed user as an existing key of the operator', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta('AKIAOPERATOR00000001', 'Active', SINCE_START)] });
      const result = await created({ request: makeRequest({ userName, adoptVaultPath: true }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual(['AKIAOPERATOR00000001']);
    });

    it.each([
      ['only the owner tag', { [OWNER_TAG]: EXECUTION }],
      ['a claim tag without a time', { [OWNER_TAG]: EXECUTION, [CLAIM_TAG]: 'AKIAOLDKEY0000000001' }],
      ['a claim tag without an owner', { [CLAIM_TAG]: '2024-05-01T12:00:01.000Z' }],
    ])('ignores a malformed claim with %s, deleting nothing', async (_case, tags) => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(ORPHAN, 'Active', SINCE_START)], tags });
      const result = await created({ request: makeRequest({ userName, adoptVaultPath: true }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual([ORPHAN]);
    });
  });

  describe('claims the rotator did not write', () => {
    const ORPHAN = 'AKIAORPHAN0000000001';

    it.each([
      ['without a MAC', { signed: false }],
      ['with the MAC of another user id', { signedFor: 'someone-else' }],
    ])(
      'deletes no key for a forged claim naming this execution (%s): a second key is TooManyAccessKeysError',
      async (_case, forged) => {
        // Since issue 16: before it, a claim without a MAC let createKey delete this Active key at once.
        const userName = uniqueUser();
        const tags =
          'signedFor' in forged
            ? signedClaimTags(signee(forged.signedFor), OWNER, OWN_CLAIM_AT, [OLD_KEY])
            : claimTags(userName, { owner: OWNER, at: OWN_CLAIM_AT, keys: [OLD_KEY], signed: false });
        givenUser(userName, {
          keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta(ORPHAN, 'Active', SINCE_START)],
          tags,
        });
        givenVaultHolds(userName, OLD_KEY);
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('TooManyAccessKeysError');
        expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
        expect(iamWrites()).toEqual([]);
      },
    );

    it("deletes no key under its own valid claim with this execution's name made before it started (a re-used name)", async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(ORPHAN, 'Active', BEFORE)],
        claim: { owner: OWNER, at: '2024-02-01T00:00:00.000Z', keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
    });

    it('deletes no key created before its own valid claim', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(ORPHAN, 'Active', '2024-05-01T11:59:00Z')],
        claim: { owner: OWNER, at: OWN_CLAIM_AT, keys: [OLD_KEY] },
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(0);
    });
  });

  describe('the Vault path pin', () => {
    const pinned = (userName: string, path = vaultPathOf(userName)) => signedPin(userName, path);

    it('reports the signed pin it found; for a user without keys and never pinned, the path it asks for, unsigned', async () => {
      const userName = uniqueUser();
      givenUser(userName, pinned(userName));
      const result = await created({ request: makeRequest({ userName }) });
      expect(result).toMatchObject({ pinnedVaultPath: vaultPathOf(userName), pinSigned: true });
      const fresh = uniqueUser();
      givenUser(fresh);
      // Since issue 16 (was null): the path verifyKey then pins and signs.
      expect(await created({ request: makeRequest({ userName: fresh }) })).toMatchObject({
        pinnedVaultPath: vaultPathOf(fresh),
        pinSigned: false,
      });
    });

    it('reports IAM’s id of the user, which verifyKey signs the pin for', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      expect((await created({ request: makeRequest({ userName }) })).userId).toBe(userIdOf(userName));
    });

    it('refuses a vaultPath other than the pinned one with InvalidInputError naming both, before any write', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], ...pinned(userName) });
      givenVaultHolds(userName, OLD_KEY);
      const typo = `${vaultPathOf(userName)}-typo`;
      const error = await rejectionOf(handler({ request: makeRequest({ userName, vaultPath: typo }) }));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain(`vaultPath ${typo} is not ${vaultPathOf(userName)}`);
      expect(error.message).toContain('"moveVaultPath": true');
      expect(iamWrites()).toEqual([]);
      expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
    });

    it.each(['aws/iam-users/../../sys/x', 'elsewhere/alice', 'aws/iam-users/'])(
      'refuses a pin tag naming no servable path (%s) with InvalidInputError, before any write, even when moving',
      async (pin) => {
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], ...pinned(userName, pin) });
        const request = makeRequest({ userName, moveVaultPath: true });
        const error = await rejectionOf(handler({ request }));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(
          `user tag ${VAULT_PATH_TAG} of '${userName}' names no Vault path below`,
        );
        expect(iamWrites()).toEqual([]);
        expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
      },
    );

    it('refuses the other path in a dry run too', async () => {
      const userName = uniqueUser();
      givenUser(userName, pinned(userName));
      const request = makeRequest({ userName, vaultPath: `${vaultPathOf(userName)}/x`, dryRun: true });
      expect((await rejectionOf(handler({ request }))).name).toBe('InvalidInputError');
    });

    it('creates the key for another path with moveVaultPath, reporting the old pin', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], ...pinned(userName) });
      givenVaultHolds(userName, OLD_KEY);
      const request = makeRequest({
        userName,
        vaultPath: `${vaultPathOf(userName)}-v2`,
        moveVaultPath: true,
      });
      const result = await created({ request });
      expect(result).toMatchObject({
        accessKeyId: NEW_KEY,
        oldAccessKeyIds: [OLD_KEY],
        pinnedVaultPath: vaultPathOf(userName),
        vaultBefore: { version: 0, accessKeyId: null },
      });
      // The claim does not touch the pin: verifyKey moves it once the new path is verified.
      expect(Object.keys(claimWritten())).toEqual([OWNER_TAG, CLAIM_TAG, CLAIM_MAC_TAG]);
    });

    it('follows a signed pin whose path serves one of its Active keys', async () => {
      const userName = uniqueUser();
      const custom = `aws/iam-users/vendors/${userName}`;
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], ...pinned(userName, custom) });
      writeAt(custom, OLD_KEY);
      const result = await created({ request: makeRequest({ userName, vaultPath: custom }) });
      expect(result).toMatchObject({ accessKeyId: NEW_KEY, pinnedVaultPath: custom, pinSigned: true });
    });

    it.each([
      ['an Inactive key of the user', 'Inactive'],
      ['no key', null],
    ] as const)(
      'refuses a signed pin whose path serves %s (a pin replayed after a move) with InvalidInputError, zero IAM writes',
      async (_case, oldStatus) => {
        const userName = uniqueUser();
        const movedTo = `aws/iam-users/moved/${userName}`;
        const keys = [keyMeta(NEW_KEY.replace('NEW', 'CUR'), 'Active', BEFORE)];
        if (oldStatus) keys.unshift(keyMeta(OLD_KEY, oldStatus, LONG_BEFORE));
        // The pin of the path the user moved away from, signed back then, written again by a tagger.
        givenUser(userName, {
          keys,
          ...signedPin(userName, vaultPathOf(userName), '2024-01-01T00:00:00.000Z'),
        });
        if (oldStatus) givenVaultHolds(userName, OLD_KEY);
        writeAt(movedTo, NEW_KEY.replace('NEW', 'CUR'));
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(`the pin of '${userName}' names ${vaultPathOf(userName)}`);
        expect(error.message).toContain('a stale or replayed pin is not followed');
        expect(iamWrites()).toEqual([]);
        expect(kms.commandCalls(GenerateMacCommand)).toHaveLength(0);
      },
    );

    it('follows a signed pin of a user without an Active key wherever it points', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Inactive', BEFORE)], ...pinned(userName) });
      const result = await created({ request: makeRequest({ userName }) });
      expect(result).toMatchObject({ pinnedVaultPath: vaultPathOf(userName), pinSigned: true });
    });

    describe('a pin the rotator did not write', () => {
      it.each([
        [
          'a path rewritten under the old MAC',
          (userName: string) => ({
            ...signedPinTags(signee(userName), vaultPathOf(userName)),
            [VAULT_PATH_TAG]: `aws/iam-users/attacker-${userName}`,
          }),
        ],
        [
          'a pin signed for a deleted user of the same name',
          (userName: string) =>
            signedPinTags({ accountId: ACCOUNT_ID, userId: 'AIDADELETEDUSER00001' }, vaultPathOf(userName)),
        ],
        [
          'a MAC tag without a pin tag',
          (userName: string) => {
            const { [VAULT_PATH_MAC_TAG]: mac = '' } = signedPinTags(signee(userName), vaultPathOf(userName));
            return { [VAULT_PATH_MAC_TAG]: mac };
          },
        ],
      ])(
        'ends InvalidInputError "was changed outside the rotator" for %s, before any write (the tamper alert)',
        async (_case, tags) => {
          const userName = uniqueUser();
          givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], tags: tags(userName) });
          givenVaultHolds(userName, OLD_KEY);
          for (const dryRun of [false, true]) {
            const error = await rejectionOf(handler({ request: makeRequest({ userName, dryRun }) }));
            expect(error.name).toBe('InvalidInputError');
            expect(error.message).toContain(`the pin of '${userName}' was ${TAMPER_PHRASE}`);
          }
          expect(iamWrites()).toEqual([]);
          expect(kms.commandCalls(GenerateMacCommand)).toHaveLength(0);
          expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
        },
      );

      it('ends transient AwsUnavailableError, not tampering, while KMS throttles VerifyMac', async () => {
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], ...pinned(userName) });
        givenVaultHolds(userName, OLD_KEY);
        kms.on(VerifyMacCommand).rejects(sdkError('ThrottlingException', 400));
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('AwsUnavailableError');
        expect(iamWrites()).toEqual([]);
      });
    });

    describe('an unsigned pin (written by an earlier version)', () => {
      it('is followed once while its path serves the current key, reported unsigned for verifyKey to sign', async () => {
        const userName = uniqueUser();
        givenUser(userName, {
          keys: [keyMeta(OLD_KEY, 'Active', BEFORE)],
          ...unsignedPin(vaultPathOf(userName)),
        });
        givenVaultHolds(userName, OLD_KEY);
        const result = await created({ request: makeRequest({ userName }) });
        expect(result).toMatchObject({
          accessKeyId: NEW_KEY,
          pinnedVaultPath: vaultPathOf(userName),
          pinSigned: false,
        });
      });

      it('is refused with InvalidInputError when its path does not serve one of its Active keys, zero writes', async () => {
        const userName = uniqueUser();
        const elsewhere = `aws/iam-users/elsewhere/${userName}`;
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)], ...unsignedPin(elsewhere) });
        givenVaultHolds(userName, OLD_KEY);
        const error = await rejectionOf(
          handler({ request: makeRequest({ userName, vaultPath: elsewhere }) }),
        );
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(
          `the unsigned pin (written by an earlier version) of '${userName}' names ${elsewhere}, which serves no key`,
        );
        expect(iamWrites()).toEqual([]);
      });

      it('is not followed, for a user with no Active key, to a path other than its default one (anyone who may tag could write it), zero writes', async () => {
        const userName = uniqueUser();
        const picked = `aws/iam-users/picked/${userName}`;
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Inactive', BEFORE)], ...unsignedPin(picked) });
        const error = await rejectionOf(handler({ request: makeRequest({ userName, vaultPath: picked }) }));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(`its key goes to its default path ${vaultPathOf(userName)}`);
        expect(iamWrites()).toEqual([]);
      });

      it('is followed, for a user with no Active key, when it names the default path', async () => {
        const userName = uniqueUser();
        givenUser(userName, { keys: [], ...unsignedPin(vaultPathOf(userName)) });
        const result = await created({ request: makeRequest({ userName }) });
        expect(result).toMatchObject({ pinnedVaultPath: vaultPathOf(userName), pinSigned: false });
      });

      it('is what a tagger leaves by removing a signed pin’s MAC: followed only to a path already serving one of its Active keys (the named residual)', async () => {
        const userName = uniqueUser();
        // Its consumers read vendors/<user> (signed pin); a copy of the same key sits at the default path.
        const consumers = `aws/iam-users/vendors/${userName}`;
        givenUser(userName, {
          keys: [keyMeta(OLD_KEY, 'Active', BEFORE)],
          ...unsignedPin(vaultPathOf(userName)),
        });
        writeAt(consumers, OLD_KEY);
        givenVaultHolds(userName, OLD_KEY);
        const result = await created({ request: makeRequest({ userName }) });
        expect(result).toMatchObject({ pinnedVaultPath: vaultPathOf(userName), pinSigned: false });
      });
    });

    describe('a user never pinned (every user at upgrade)', () => {
      it('accepts a vaultPath that serves one of its Active keys, reporting it as the path to pin, unsigned', async () => {
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
        givenVaultHolds(userName, OLD_KEY);
        const custom = `aws/iam-users/team/${userName}`;
        writeAt(custom, OLD_KEY);
        const result = await created({ request: makeRequest({ userName, vaultPath: custom }) });
        // Since issue 16 (was null): the path proven to serve its key, for verifyKey to pin and sign.
        expect(result).toMatchObject({
          accessKeyId: NEW_KEY,
          oldAccessKeyIds: [OLD_KEY],
          pinnedVaultPath: custom,
          pinSigned: false,
        });
      });

      it('refuses an empty vaultPath while it has an Active key, naming the user, the path and "no key", zero writes', async () => {
        // Since issue 16: the default path serving its key is no longer the only path checked; any
        // path that serves none of its Active keys is refused (before, an empty custom path was fine).
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
        givenVaultHolds(userName, OLD_KEY);
        const elsewhere = `aws/iam-users/elsewhere/${userName}`;
        for (const dryRun of [false, true]) {
          const error = await rejectionOf(
            handler({ request: makeRequest({ userName, vaultPath: elsewhere, dryRun }) }),
          );
          expect(error.name).toBe('InvalidInputError');
          expect(error.message).toContain(`'${userName}' has no ${VAULT_PATH_TAG} tag`);
          expect(error.message).toContain(`vaultPath ${elsewhere} serves no key`);
          expect(error.message).toContain(`${OLD_KEY} (Active)`);
          expect(error.message).toContain(`its default is ${vaultPathOf(userName)}`);
          expect(error.message).toContain('"adoptVaultPath": true');
        }
        expect(iamWrites()).toEqual([]);
        expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
      });

      it('refuses a default path that serves none of its keys while it has an Active key', async () => {
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
        givenVaultHolds(userName, 'AKIAGONEKEY000000001');
        iam.on(GetAccessKeyLastUsedCommand).rejects(noSuchEntity());
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(`serves AKIAGONEKEY000000001, which is not a key of this user`);
        expect(iamWrites()).toEqual([]);
      });

      it('refuses a default path that serves only its Inactive key', async () => {
        const userName = uniqueUser();
        givenUser(userName, {
          keys: [keyMeta(OLD_KEY, 'Inactive', LONG_BEFORE), keyMeta(OTHER_KEY, 'Active', BEFORE)],
        });
        givenVaultHolds(userName, OLD_KEY);
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).toContain(`serves ${OLD_KEY} (Inactive)`);
      });

      it('creates the key at an empty path with adoptVaultPath, reporting no path to move from', async () => {
        // Since issue 16 (was accepted without a flag): adoption is explicit.
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
        givenVaultHolds(userName, 'AKIAGONEKEY000000001');
        const elsewhere = `aws/iam-users/elsewhere/${userName}`;
        const result = await created({
          request: makeRequest({ userName, vaultPath: elsewhere, adoptVaultPath: true }),
        });
        expect(result).toMatchObject({
          accessKeyId: NEW_KEY,
          oldAccessKeyIds: [OLD_KEY],
          pinnedVaultPath: null,
        });
      });

      it('refuses an empty path in an execution that predates defaultVaultPath too, without naming a default', async () => {
        // Since issue 16 (was accepted): the rule no longer depends on a default path.
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
        givenVaultHolds(userName, OLD_KEY);
        const request = { ...makeRequest({ userName, vaultPath: `${vaultPathOf(userName)}-other` }) };
        delete request.defaultVaultPath;
        const error = await rejectionOf(handler({ request }));
        expect(error.name).toBe('InvalidInputError');
        expect(error.message).not.toContain('its default is');
      });

      describe.each([
        ['no key at all', []],
        ['only an Inactive key', [keyMeta(OLD_KEY, 'Inactive', BEFORE)]],
      ])('with %s (nothing to lose)', (_case, keys) => {
        it('serves its key at its default path', async () => {
          const userName = uniqueUser();
          givenUser(userName, { keys });
          const result = await created({ request: makeRequest({ userName }) });
          expect(result).toMatchObject({
            accessKeyId: NEW_KEY,
            pinnedVaultPath: vaultPathOf(userName),
            pinSigned: false,
          });
        });

        it('refuses another path the starter picks (whoever reads it would get a working key), zero writes', async () => {
          const userName = uniqueUser();
          givenUser(userName, { keys });
          const anywhere = `aws/iam-users/anywhere/${userName}`;
          const error = await rejectionOf(
            handler({ request: makeRequest({ userName, vaultPath: anywhere }) }),
          );
          expect(error.name).toBe('InvalidInputError');
          expect(error.message).toContain(`its key goes to its default path ${vaultPathOf(userName)}`);
          expect(iamWrites()).toEqual([]);
        });

        it('serves it at another path the input adopts', async () => {
          const userName = uniqueUser();
          givenUser(userName, { keys });
          const anywhere = `aws/iam-users/anywhere/${userName}`;
          const request = makeRequest({ userName, vaultPath: anywhere, adoptVaultPath: true });
          expect(await created({ request })).toMatchObject({ accessKeyId: NEW_KEY, pinnedVaultPath: null });
        });
      });

      it('moves its key from the default path with moveVaultPath, reporting that path as the one it leaves', async () => {
        const userName = uniqueUser();
        givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
        givenVaultHolds(userName, OLD_KEY);
        const request = makeRequest({
          userName,
          vaultPath: `${vaultPathOf(userName)}-v2`,
          moveVaultPath: true,
        });
        const result = await created({ request });
        expect(result).toMatchObject({ oldAccessKeyIds: [OLD_KEY], pinnedVaultPath: vaultPathOf(userName) });
      });
    });

    it('reads the user tags once, after listing the keys', async () => {
      const userName = uniqueUser();
      givenUser(userName, pinned(userName));
      await created({ request: makeRequest({ userName }) });
      const names = commandNames(iam);
      expect(names.indexOf('ListUserTagsCommand')).toBeGreaterThan(names.indexOf('ListAccessKeysCommand'));
      // Once to check the pin and the claim, once to read the claim back, once after creating the key.
      expect(names.filter((name) => name === 'ListUserTagsCommand')).toHaveLength(3);
    });
  });

  describe("IAM's spelling of the user name", () => {
    const userNames = () =>
      iam.calls().map((call) => (call.args[0] as { input: { UserName?: string } }).input.UserName);

    it('goes on under the name GetUser returns, with the default path of that spelling', async () => {
      const iamName = uniqueUser('vendor-x');
      const asked = iamName.toUpperCase();
      givenUser(asked, { iamName });
      const request = makeRequest({ userName: asked });
      expect(request.vaultPath).toBe(vaultPathOf(asked));
      const result = await created({ request });
      expect(result.request).toMatchObject({
        userName: iamName,
        vaultPath: vaultPathOf(iamName),
        defaultVaultPath: vaultPathOf(iamName),
      });
      expect(result.userArn).toBe(userArn(iamName));
      const [first, ...after] = userNames();
      expect(first).toBe(asked);
      expect(after.length).toBeGreaterThan(0);
      expect(new Set(after)).toEqual(new Set([iamName]));
      expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input.EncryptionContext).toMatchObject({
        'iam-key-rotator:user': iamName,
      });
    });

    it('finds the key served at the default path of IAM’s spelling', async () => {
      const iamName = uniqueUser('vendor-x');
      givenUser(iamName.toUpperCase(), { iamName, keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(iamName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName: iamName.toUpperCase() }) });
      expect(result).toMatchObject({
        vaultBefore: { accessKeyId: OLD_KEY },
        pinnedVaultPath: vaultPathOf(iamName),
      });
    });

    it('keeps a vaultPath given explicitly', async () => {
      const iamName = uniqueUser('vendor-x');
      const asked = iamName.toUpperCase();
      givenUser(asked, { iamName, keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      const given = `aws/iam-users/vendors/${asked}`;
      writeAt(given, OLD_KEY);
      const result = await created({ request: makeRequest({ userName: asked, vaultPath: given }) });
      // The default path is always IAM's spelling's: a move from it reads the right path.
      expect(result.request).toMatchObject({
        userName: iamName,
        vaultPath: given,
        defaultVaultPath: vaultPathOf(iamName),
      });
    });

    it('returns the request unchanged when the spelling is IAM’s', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      const request = makeRequest({ userName });
      expect((await created({ request })).request).toEqual(request);
    });
  });

  describe('failures', () => {
    it('deletes the just-created key and rethrows when KMS Encrypt fails', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      givenVaultHolds(userName, OLD_KEY);
      kms.reset();
      installFakeMac(kms);
      kms.on(EncryptCommand).rejects(sdkError('KMSInternalException', 500));
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('AwsUnavailableError');
      expect(error.message).not.toContain(SECRET);
      expect(deletedKeys()).toEqual([NEW_KEY]);
    });

    it('throws UserNotFoundError for a missing user before touching anything', async () => {
      const userName = uniqueUser();
      iam.on(GetUserCommand).rejects(noSuchEntity('not found'));
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('UserNotFoundError');
      expect(commandNames(iam)).toEqual(['GetUserCommand']);
    });

    it('throws VaultUnavailableError while Vault is sealed, before any IAM write', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      vault().seal();
      try {
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('VaultUnavailableError');
      } finally {
        vault().unseal();
      }
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    });

    it('throws InvalidInputError for a malformed event', async () => {
      const error = await rejectionOf(handler({ request: { ...makeRequest(), userName: 'bad name!' } }));
      expect(error.name).toBe('InvalidInputError');
      expect(iam.calls()).toHaveLength(0);
    });
  });
});

describe('createKey handler on a KV v1 mount', () => {
  let v1: Handler;
  const PREVIOUS = { access_key: OLD_KEY, secret_key: OLD_SECRET, owner: 'team-a' };

  beforeAll(async () => {
    vault().enableKv('legacy', 1);
    v1 = await deployment({ VAULT_KV_MOUNT: 'legacy' });
  });

  afterAll(() => {
    setHandlerEnv(vault());
  });

  const givenLegacyHolds = (userName: string, data: Record<string, string>) =>
    vault().writeSecret({ mount: 'legacy', path: vaultPathOf(userName), data });

  it('seals the whole previous value with purpose previous-secret, bound to the previous key', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
    givenLegacyHolds(userName, PREVIOUS);
    const result = await v1({ request: makeRequest({ userName }) });
    if (result.dryRun) throw new Error('expected a real rotation');
    // The state machine takes `request` apart (ResultSelector); the rest is the Created state.
    const { request, ...state } = result;
    expect(request.userName).toBe(userName);
    expect(CreatedSchema.parse(state)).toEqual(state);
    expect(result.vaultBefore).toEqual({
      version: 1,
      accessKeyId: OLD_KEY,
      sealedPrevious: { ciphertext: expect.any(String) as string },
    });
    const sealed = fakeKms.sealed.get(result.vaultBefore.sealedPrevious?.ciphertext ?? '');
    expect(JSON.parse(sealed?.plaintext ?? 'null')).toEqual(PREVIOUS);
    expect(sealed?.context).toEqual({
      'iam-key-rotator:execution': EXECUTION,
      'iam-key-rotator:user': userName,
      'iam-key-rotator:access-key-id': OLD_KEY,
      'iam-key-rotator:purpose': 'previous-secret',
    });
    expect(JSON.stringify(result)).not.toContain(OLD_SECRET);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(kms.commandCalls(EncryptCommand)).toHaveLength(2);
    expect(vault().readSecret('legacy', vaultPathOf(userName))?.data).toEqual(PREVIOUS);
  });

  it('seals nothing when the path holds no value yet', async () => {
    const userName = uniqueUser();
    givenUser(userName);
    const result = await v1({ request: makeRequest({ userName }) });
    expect(result.vaultBefore).toEqual({ version: 0, accessKeyId: null });
    expect(kms.commandCalls(EncryptCommand)).toHaveLength(1);
  });

  it('seals nothing in a dry run', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
    givenLegacyHolds(userName, PREVIOUS);
    const result = await v1({ request: makeRequest({ userName, dryRun: true }) });
    expect(result.vaultBefore).toEqual({ version: 1, accessKeyId: OLD_KEY });
    expect(kms.calls()).toHaveLength(0);
  });

  it('makes no IAM write when the previous value cannot be sealed', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
    givenLegacyHolds(userName, PREVIOUS);
    kms.reset();
    kms.on(EncryptCommand).rejects(sdkError('KMSInternalException', 500));
    const error = await rejectionOf(v1({ request: makeRequest({ userName }) }));
    expect(error.name).toBe('AwsUnavailableError');
    expect(error.message).not.toContain(OLD_SECRET);
    expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
  });

  it('throws VaultDataError before any IAM write when the value is not a key pair', async () => {
    const userName = uniqueUser();
    givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
    givenLegacyHolds(userName, { password: OLD_SECRET });
    const error = await rejectionOf(v1({ request: makeRequest({ userName }) }));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).not.toContain(OLD_SECRET);
    expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    expect(kms.calls()).toHaveLength(0);
  });
});
