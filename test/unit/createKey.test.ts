import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { EncryptCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Created, DryRunPlan } from '../../functions/commons/state.js';
import type { VaultEmulator } from '../../local-stack/vault/index.js';
import {
  commandNames,
  EXECUTION,
  type FakeKms,
  IAM_WRITES,
  installFakeKms,
  keyMeta,
  makeRequest,
  mockKms,
  OLD_SECRET,
  rejectionOf,
  SECRET,
  sdkError,
  setHandlerEnv,
  startVault,
  uniqueUser,
  userArn,
  vaultPathOf,
} from './support.js';

type Handler = (event: unknown) => Promise<Created | DryRunPlan>;

const iam = mockClient(IAMClient);
const kms = mockKms();
let fakeKms: FakeKms;
let vault: VaultEmulator;
let handler: Handler;

const NEW_KEY = 'AKIANEWKEY0000000001';
const OLD_KEY = 'AKIAOLDKEY0000000001';
const OTHER_KEY = 'AKIAOLDKEY0000000002';
const BEFORE = '2024-03-01T08:00:00Z';
const LONG_BEFORE = '2023-01-01T08:00:00Z';
const SINCE_START = '2024-05-01T12:00:01Z';

interface Scenario {
  keys?: ReturnType<typeof keyMeta>[];
  tag?: string;
}

/** Mocks IAM for one user: GetUser, ListAccessKeys, tags, and a CreateAccessKey returning NEW_KEY. */
function givenUser(userName: string, { keys = [], tag }: Scenario = {}) {
  iam.on(GetUserCommand, { UserName: userName }).resolves({
    User: {
      UserName: userName,
      Arn: userArn(userName),
      UserId: 'AIDA',
      Path: '/',
      CreateDate: new Date(LONG_BEFORE),
    },
  });
  iam.on(ListAccessKeysCommand, { UserName: userName }).resolves({ AccessKeyMetadata: keys });
  iam.on(ListUserTagsCommand).resolves({
    Tags: tag === undefined ? [] : [{ Key: 'iam-key-rotator:execution', Value: tag }],
  });
  iam.on(TagUserCommand).resolves({});
  iam.on(DeleteAccessKeyCommand).resolves({});
  iam.on(CreateAccessKeyCommand, { UserName: userName }).resolves({
    AccessKey: {
      UserName: userName,
      AccessKeyId: NEW_KEY,
      SecretAccessKey: SECRET,
      Status: 'Active',
      CreateDate: new Date('2024-05-01T12:00:02Z'),
    },
  });
}

function givenVaultHolds(userName: string, accessKeyId: string): number | undefined {
  return vault.writeSecret({
    mount: 'secret',
    path: vaultPathOf(userName),
    data: { access_key: accessKeyId, secret_key: OLD_SECRET },
  });
}

async function created(event: unknown): Promise<Created> {
  const result = await handler(event);
  if (result.dryRun) throw new Error('expected a real rotation');
  return result;
}

const deletedKeys = () => iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId);

beforeAll(async () => {
  vault = await startVault();
  setHandlerEnv(vault);
  ({ handler } = await import('../../functions/createKey.js'));
});

afterAll(async () => {
  await vault.close();
});

beforeEach(() => {
  iam.reset();
  kms.reset();
  fakeKms = installFakeKms(kms);
});

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

    it('claims the user with a tag naming this execution before creating the key', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      await created({ request: makeRequest({ userName }) });
      const names = commandNames(iam);
      expect(names.indexOf('TagUserCommand')).toBeGreaterThan(-1);
      expect(names.indexOf('TagUserCommand')).toBeLessThan(names.indexOf('CreateAccessKeyCommand'));
      expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input).toEqual({
        UserName: userName,
        Tags: [{ Key: 'iam-key-rotator:execution', Value: EXECUTION }],
      });
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
      expect(vault.readSecret('secret', vaultPathOf(userName))).toBeUndefined();
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
      const error = await rejectionOf(
        handler({ request: makeRequest({ userName, deleteInactiveKey: true }) }),
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
      const error = await rejectionOf(
        handler({ request: makeRequest({ userName, deleteInactiveKey: true }) }),
      );
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(deletedKeys()).toEqual([]);
    });

    it('throws TooManyAccessKeysError when IAM refuses CreateAccessKey with LimitExceeded', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      iam.on(CreateAccessKeyCommand).rejects(
        Object.assign(new LimitExceededException({ message: 'quota', $metadata: { httpStatusCode: 409 } }), {
          Code: 'LimitExceeded',
        }),
      );
      expect((await rejectionOf(handler({ request: makeRequest({ userName }) }))).name).toBe(
        'TooManyAccessKeysError',
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
      const result = await handler({
        request: makeRequest({ userName, dryRun: true, deleteInactiveKey: true }),
      });
      expect(result).toEqual({
        dryRun: true,
        userArn: userArn(userName),
        existingAccessKeyIds: [OLD_KEY, OTHER_KEY],
        wouldRemoveInactiveKeyIds: [OTHER_KEY],
        vaultBefore: { version: 1, accessKeyId: OLD_KEY },
      });
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
      expect(kms.calls()).toHaveLength(0);
      expect(vault.readSecret('secret', vaultPathOf(userName))?.metadata?.version).toBe(1);
    });

    it('throws TooManyAccessKeysError when a rotation would', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', LONG_BEFORE), keyMeta(OTHER_KEY, 'Active', BEFORE)],
      });
      const error = await rejectionOf(handler({ request: makeRequest({ userName, dryRun: true }) }));
      expect(error.name).toBe('TooManyAccessKeysError');
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    });
  });

  describe('keys of an earlier attempt', () => {
    it('deletes an unstored key created since the start when the user tag names this execution', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta('AKIAORPHAN0000000001', 'Active', SINCE_START)],
        tag: EXECUTION,
      });
      givenVaultHolds(userName, OLD_KEY);
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual(['AKIAORPHAN0000000001']);
      expect(result.oldAccessKeyIds).toEqual([OLD_KEY]);
      expect(result.accessKeyId).toBe(NEW_KEY);
    });

    it('throws ConcurrentRotationError when the tag names another execution, deleting nothing', async () => {
      const userName = uniqueUser();
      const other = `${EXECUTION}-other`;
      givenUser(userName, {
        keys: [keyMeta(OLD_KEY, 'Active', BEFORE), keyMeta('AKIAORPHAN0000000001', 'Active', SINCE_START)],
        tag: other,
      });
      givenVaultHolds(userName, OLD_KEY);
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('ConcurrentRotationError');
      expect(error.message).toContain('AKIAORPHAN0000000001');
      expect(commandNames(iam).filter((name) => IAM_WRITES.includes(name))).toEqual([]);
    });

    it('counts a new key of an untagged user as an existing key of the operator', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta('AKIAOPERATOR00000001', 'Active', SINCE_START)] });
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual(['AKIAOPERATOR00000001']);
    });

    it('leaves the key Vault already serves alone even if it was created since the start', async () => {
      const userName = uniqueUser();
      givenUser(userName, {
        keys: [keyMeta('AKIASTORED0000000001', 'Active', SINCE_START)],
        tag: `${EXECUTION}-other`,
      });
      givenVaultHolds(userName, 'AKIASTORED0000000001');
      const result = await created({ request: makeRequest({ userName }) });
      expect(deletedKeys()).toEqual([]);
      expect(result.oldAccessKeyIds).toEqual(['AKIASTORED0000000001']);
    });
  });

  describe('failures', () => {
    it('deletes the just-created key and rethrows when KMS Encrypt fails', async () => {
      const userName = uniqueUser();
      givenUser(userName, { keys: [keyMeta(OLD_KEY, 'Active', BEFORE)] });
      kms.reset();
      kms.on(EncryptCommand).rejects(sdkError('KMSInternalException', 500));
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('AwsUnavailableError');
      expect(error.message).not.toContain(SECRET);
      expect(deletedKeys()).toEqual([NEW_KEY]);
    });

    it('throws UserNotFoundError for a missing user before touching anything', async () => {
      const userName = uniqueUser();
      iam.on(GetUserCommand).rejects(
        Object.assign(
          new NoSuchEntityException({ message: 'not found', $metadata: { httpStatusCode: 404 } }),
          {
            Code: 'NoSuchEntity',
          },
        ),
      );
      const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
      expect(error.name).toBe('UserNotFoundError');
      expect(commandNames(iam)).toEqual(['GetUserCommand']);
    });

    it('throws VaultUnavailableError while Vault is sealed, before any IAM write', async () => {
      const userName = uniqueUser();
      givenUser(userName);
      vault.seal();
      try {
        const error = await rejectionOf(handler({ request: makeRequest({ userName }) }));
        expect(error.name).toBe('VaultUnavailableError');
      } finally {
        vault.unseal();
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
