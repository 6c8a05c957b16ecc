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
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createAccessKey,
  deleteAccessKey,
  getLastUsed,
  getUser,
  getUserTags,
  type IamUser,
  iamUser,
  listAccessKeys,
  setAccessKeyStatus,
  tagUsers,
} from '../../../functions/commons/iam.js';
import {
  keyMeta,
  makeRequest,
  noSuchEntity,
  rejectionOf,
  resetBeforeEach,
  SECRET,
  sdkError,
  setAwsAuthEnv,
} from '../support.js';

const iam = resetBeforeEach(mockClient(IAMClient));
const limitExceeded = () =>
  Object.assign(new LimitExceededException({ message: 'quota', $metadata: { httpStatusCode: 409 } }), {
    Code: 'LimitExceeded',
  });

beforeAll(() => {
  setAwsAuthEnv();
});

/** A user of the rotator's own account: its calls go out with the function's own credentials. */
const user = (userName: string): IamUser => iamUser(makeRequest({ userName }), 'createKey');

describe('getUser', () => {
  it("returns the user's name, id and ARN as IAM spells them", async () => {
    iam.on(GetUserCommand, { UserName: 'alice' }).resolves({
      User: {
        UserName: 'alice',
        Arn: 'arn:aws:iam::123456789012:user/alice',
        UserId: 'AIDAEXAMPLE',
        Path: '/',
        CreateDate: new Date(),
      },
    });
    await expect(getUser(user('alice'))).resolves.toEqual({
      userName: 'alice',
      userId: 'AIDAEXAMPLE',
      arn: 'arn:aws:iam::123456789012:user/alice',
    });
  });

  it("returns IAM's spelling of a name asked for in another case (IAM names are case-insensitive)", async () => {
    iam.on(GetUserCommand, { UserName: 'VENDOR-X' }).resolves({
      User: {
        UserName: 'vendor-x',
        Arn: 'arn:aws:iam::123456789012:user/vendor-x',
        UserId: 'AIDAVENDORX',
        Path: '/',
        CreateDate: new Date(),
      },
    });
    await expect(getUser(user('VENDOR-X'))).resolves.toMatchObject({ userName: 'vendor-x' });
  });

  it('throws UserNotFoundError when IAM answers NoSuchEntity', async () => {
    iam.on(GetUserCommand).rejects(noSuchEntity());
    const error = await rejectionOf(getUser(user('ghost')));
    expect(error.name).toBe('UserNotFoundError');
    expect(error.message).toContain("'ghost'");
  });

  it('throws UserNotFoundError for a plain error carrying only the NoSuchEntity name', async () => {
    iam.on(GetUserCommand).rejects(sdkError('NoSuchEntity', 404));
    expect((await rejectionOf(getUser(user('ghost')))).name).toBe('UserNotFoundError');
  });

  it('throws UserNotFoundError when IAM denies GetUser: a missing user has no path, so a path-scoped policy refuses it', async () => {
    iam.on(GetUserCommand).rejects(sdkError('AccessDenied', 403));
    const error = await rejectionOf(getUser(user('ghost')));
    expect(error.name).toBe('UserNotFoundError');
    expect(error.message).toContain('may not read it (iam:GetUser: AccessDenied)');
  });

  it('throws AwsUnavailableError when IAM throttles', async () => {
    iam.on(GetUserCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(getUser(user('alice')))).name).toBe('AwsUnavailableError');
  });

  it('throws AwsRequestError when the response has no ARN', async () => {
    iam.on(GetUserCommand).resolves({});
    const error = await rejectionOf(getUser(user('alice')));
    expect(error.name).toBe('AwsRequestError');
    expect(error.message).toContain('iam:GetUser');
  });

  it.each([
    ['UserName', { UserName: '', UserId: 'AIDAX', Arn: 'arn:aws:iam::123456789012:user/alice' }],
    ['UserId', { UserName: 'alice', UserId: '', Arn: 'arn:aws:iam::123456789012:user/alice' }],
  ])('throws AwsRequestError when the response has an empty %s', async (_field, partial) => {
    iam.on(GetUserCommand).resolves({ User: { Path: '/', CreateDate: new Date(), ...partial } });
    const error = await rejectionOf(getUser(user('alice')));
    expect(error.name).toBe('AwsRequestError');
    expect(error.message).toContain('iam:GetUser');
  });
});

describe('listAccessKeys', () => {
  it('returns the keys oldest first with their status and ISO create date', async () => {
    iam.on(ListAccessKeysCommand, { UserName: 'alice' }).resolves({
      AccessKeyMetadata: [
        keyMeta('AKIAB', 'Active', '2024-02-01T00:00:00Z'),
        keyMeta('AKIAA', 'Inactive', '2023-01-01T00:00:00Z'),
      ],
    });
    await expect(listAccessKeys(user('alice'))).resolves.toEqual([
      { accessKeyId: 'AKIAA', status: 'Inactive', createDate: '2023-01-01T00:00:00.000Z' },
      { accessKeyId: 'AKIAB', status: 'Active', createDate: '2024-02-01T00:00:00.000Z' },
    ]);
  });

  it('returns an empty list for a user without keys', async () => {
    iam.on(ListAccessKeysCommand).resolves({});
    await expect(listAccessKeys(user('alice'))).resolves.toEqual([]);
  });

  it('skips entries without an id and dates entries without a date at the epoch', async () => {
    iam.on(ListAccessKeysCommand).resolves({
      AccessKeyMetadata: [{ Status: 'Active' }, { AccessKeyId: 'AKIAX', Status: 'Active' }],
    });
    await expect(listAccessKeys(user('alice'))).resolves.toEqual([
      { accessKeyId: 'AKIAX', status: 'Active', createDate: '1970-01-01T00:00:00.000Z' },
    ]);
  });

  it('throws UserNotFoundError for a missing user', async () => {
    iam.on(ListAccessKeysCommand).rejects(noSuchEntity());
    expect((await rejectionOf(listAccessKeys(user('ghost')))).name).toBe('UserNotFoundError');
  });
});

describe('createAccessKey', () => {
  it('returns the new key with its secret', async () => {
    iam.on(CreateAccessKeyCommand, { UserName: 'alice' }).resolves({
      AccessKey: {
        UserName: 'alice',
        AccessKeyId: 'AKIANEW',
        SecretAccessKey: SECRET,
        Status: 'Active',
        CreateDate: new Date('2024-05-01T12:00:01Z'),
      },
    });
    await expect(createAccessKey(user('alice'))).resolves.toEqual({
      accessKeyId: 'AKIANEW',
      secretAccessKey: SECRET,
      status: 'Active',
      createDate: '2024-05-01T12:00:01.000Z',
    });
  });

  it('sends CreateAccessKey without SDK retries, since a retry after a lost response makes a second key', async () => {
    let maxAttempts: number | undefined;
    iam.on(CreateAccessKeyCommand).callsFake(async (_input, getClient) => {
      maxAttempts = await getClient().config.maxAttempts();
      return {
        AccessKey: { UserName: 'alice', AccessKeyId: 'AKIANEW', SecretAccessKey: SECRET, Status: 'Active' },
      };
    });
    await createAccessKey(user('alice'));
    expect(maxAttempts).toBe(1);
  });

  it('throws TooManyAccessKeysError when IAM answers LimitExceeded', async () => {
    iam.on(CreateAccessKeyCommand).rejects(limitExceeded());
    const error = await rejectionOf(createAccessKey(user('alice')));
    expect(error.name).toBe('TooManyAccessKeysError');
    expect(error.message).toContain('2 access keys');
  });

  it('throws AwsRequestError when the response has no secret', async () => {
    iam.on(CreateAccessKeyCommand).resolves({
      AccessKey: { UserName: 'alice', AccessKeyId: 'AKIANEW', SecretAccessKey: '', Status: 'Active' },
    });
    expect((await rejectionOf(createAccessKey(user('alice')))).name).toBe('AwsRequestError');
  });
});

describe('setAccessKeyStatus', () => {
  it('sends UpdateAccessKey with the status and answers true', async () => {
    iam.on(UpdateAccessKeyCommand).resolves({});
    await expect(setAccessKeyStatus(user('alice'), 'AKIAOLD', 'Inactive')).resolves.toBe(true);
    expect(iam.commandCalls(UpdateAccessKeyCommand)[0]?.args[0].input).toEqual({
      UserName: 'alice',
      AccessKeyId: 'AKIAOLD',
      Status: 'Inactive',
    });
  });

  it('answers false when the key is already gone', async () => {
    iam.on(UpdateAccessKeyCommand).rejects(noSuchEntity());
    await expect(setAccessKeyStatus(user('alice'), 'AKIAOLD', 'Inactive')).resolves.toBe(false);
  });

  it('throws AwsRequestError when IAM denies the call', async () => {
    iam.on(UpdateAccessKeyCommand).rejects(sdkError('AccessDenied', 403));
    expect((await rejectionOf(setAccessKeyStatus(user('alice'), 'AKIAOLD', 'Inactive'))).name).toBe(
      'AwsRequestError',
    );
  });
});

describe('deleteAccessKey', () => {
  it('sends DeleteAccessKey and answers true', async () => {
    iam.on(DeleteAccessKeyCommand).resolves({});
    await expect(deleteAccessKey(user('alice'), 'AKIAOLD')).resolves.toBe(true);
    expect(iam.commandCalls(DeleteAccessKeyCommand)[0]?.args[0].input).toEqual({
      UserName: 'alice',
      AccessKeyId: 'AKIAOLD',
    });
  });

  it('answers false when the key is already gone', async () => {
    iam.on(DeleteAccessKeyCommand).rejects(noSuchEntity());
    await expect(deleteAccessKey(user('alice'), 'AKIAOLD')).resolves.toBe(false);
  });

  it('throws AwsUnavailableError on a 5xx', async () => {
    iam.on(DeleteAccessKeyCommand).rejects(sdkError('ServiceFailure', 500));
    expect((await rejectionOf(deleteAccessKey(user('alice'), 'AKIAOLD'))).name).toBe('AwsUnavailableError');
  });
});

describe('getLastUsed', () => {
  it('returns the last-used date as ISO', async () => {
    iam.on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIAOLD' }).resolves({
      AccessKeyLastUsed: {
        LastUsedDate: new Date('2024-04-30T10:00:00Z'),
        ServiceName: 's3',
        Region: 'eu-west-1',
      },
    });
    await expect(getLastUsed(user('alice'), 'AKIAOLD')).resolves.toBe('2024-04-30T10:00:00.000Z');
  });

  it('returns undefined for a key never used', async () => {
    iam
      .on(GetAccessKeyLastUsedCommand)
      .resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
    await expect(getLastUsed(user('alice'), 'AKIAOLD')).resolves.toBeUndefined();
  });
});

describe('user tags', () => {
  it('returns the tags as a map', async () => {
    iam.on(ListUserTagsCommand, { UserName: 'alice' }).resolves({
      Tags: [
        { Key: 'team', Value: 'a' },
        { Key: 'iam-key-rotator:execution', Value: 'exec-1' },
      ],
    });
    await expect(getUserTags(user('alice'))).resolves.toEqual({
      team: 'a',
      'iam-key-rotator:execution': 'exec-1',
    });
  });

  it('sends all the tags in one TagUser call, in order', async () => {
    iam.on(TagUserCommand).resolves({});
    await tagUsers(user('alice'), { k: 'v', 'iam-key-rotator:claim': '2024-05-01T12:00:01.000Z AKIAOLD' });
    expect(iam.commandCalls(TagUserCommand)).toHaveLength(1);
    expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input).toEqual({
      UserName: 'alice',
      Tags: [
        { Key: 'k', Value: 'v' },
        { Key: 'iam-key-rotator:claim', Value: '2024-05-01T12:00:01.000Z AKIAOLD' },
      ],
    });
  });

  it('throws UserNotFoundError when tagging a missing user', async () => {
    iam.on(TagUserCommand).rejects(noSuchEntity());
    expect((await rejectionOf(tagUsers(user('ghost'), { k: 'v' }))).name).toBe('UserNotFoundError');
  });

  it('throws AwsRequestError when IAM refuses a tag value', async () => {
    iam.on(TagUserCommand).rejects(sdkError('ValidationError', 400));
    const error = await rejectionOf(tagUsers(user('alice'), { k: 'bad|value' }));
    expect(error.name).toBe('AwsRequestError');
    expect(error.message).toContain('iam:TagUser');
  });
});
