import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();

describe('IAM over the query protocol', () => {
  it('creates a user and reads it back with GetUser and ListUsers', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('alice');
    const created = await iam.send(new CreateUserCommand({ UserName: name, Path: '/rotated/' }));
    expect(created.User).toMatchObject({
      UserName: name,
      Path: '/rotated/',
      Arn: `arn:aws:iam::123456789012:user/rotated/${name}`,
    });
    expect(created.User?.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(created.User?.CreateDate).toBeInstanceOf(Date);

    const fetched = await iam.send(new GetUserCommand({ UserName: name }));
    expect(fetched.User?.UserId).toBe(created.User?.UserId);

    const listed = await iam.send(new ListUsersCommand({ PathPrefix: '/rotated/' }));
    expect(listed.Users?.map((u) => u.UserName)).toContain(name);
    expect(listed.Users?.every((u) => u.Path?.startsWith('/rotated/'))).toBe(true);
    expect(listed.IsTruncated).toBe(false);
  });

  it('returns the caller from GetUser without a UserName', async () => {
    const { iam } = clients(emulator());
    const { User } = await iam.send(new GetUserCommand({}));
    expect(User?.UserName).toBe('local-admin');
  });

  it('tags a user and lists the tags', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('tagged');
    await iam.send(new CreateUserCommand({ UserName: name, Tags: [{ Key: 'team', Value: 'a&b <c>' }] }));
    await iam.send(new TagUserCommand({ UserName: name, Tags: [{ Key: 'rotate', Value: 'yes' }] }));
    const { Tags } = await iam.send(new ListUserTagsCommand({ UserName: name }));
    expect(Tags).toEqual([
      { Key: 'team', Value: 'a&b <c>' },
      { Key: 'rotate', Value: 'yes' },
    ]);
  });

  it('creates, lists, deactivates and deletes access keys', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('keys');
    await iam.send(new CreateUserCommand({ UserName: name }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    expect(AccessKey?.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(AccessKey?.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(AccessKey).toMatchObject({ UserName: name, Status: 'Active' });
    const id = AccessKey?.AccessKeyId ?? '';

    await iam.send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: id, Status: 'Inactive' }));
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: name }));
    expect(listed.AccessKeyMetadata).toEqual([
      { UserName: name, AccessKeyId: id, Status: 'Inactive', CreateDate: expect.any(Date) },
    ]);

    await iam.send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: id }));
    const after = await iam.send(new ListAccessKeysCommand({ UserName: name }));
    expect(after.AccessKeyMetadata).toEqual([]);
  });

  it('refuses a third access key with LimitExceeded (409)', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('limit');
    await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    const error = await failure(iam.send(new CreateAccessKeyCommand({ UserName: name })));
    expect(error.name).toBe('LimitExceededException');
    expect(error.Code).toBe('LimitExceeded');
    expect(error.message).toBe('Cannot exceed quota for AccessKeysPerUser: 2');
    expect(error.$metadata?.httpStatusCode).toBe(409);
  });

  it('answers NoSuchEntity (404) for unknown users and keys', async () => {
    const { iam } = clients(emulator());
    const userError = await failure(iam.send(new GetUserCommand({ UserName: 'nobody' })));
    expect(userError.name).toBe('NoSuchEntityException');
    expect(userError.Code).toBe('NoSuchEntity');
    expect(userError.message).toBe('The user with name nobody cannot be found.');
    expect(userError.$metadata?.httpStatusCode).toBe(404);

    const keyError = await failure(
      iam.send(new DeleteAccessKeyCommand({ UserName: 'local-admin', AccessKeyId: 'AKIA' + 'X'.repeat(16) })),
    );
    expect(keyError.name).toBe('NoSuchEntityException');
    expect(keyError.message).toBe(`The Access Key with id AKIA${'X'.repeat(16)} cannot be found.`);
  });

  it('answers EntityAlreadyExists (409) for a duplicate user and ValidationError for a bad name', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('dup');
    await iam.send(new CreateUserCommand({ UserName: name }));
    const dup = await failure(iam.send(new CreateUserCommand({ UserName: name })));
    expect(dup.name).toBe('EntityAlreadyExistsException');
    expect(dup.$metadata?.httpStatusCode).toBe(409);

    const bad = await failure(iam.send(new CreateUserCommand({ UserName: 'has space' })));
    expect(bad.name).toBe('ValidationError');
    expect(bad.message).toContain("Value 'has space' at 'userName' failed to satisfy constraint");
    expect(bad.$metadata?.httpStatusCode).toBe(400);
  });

  it('reports N/A for a key that was never used', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('unused');
    await iam.send(new CreateUserCommand({ UserName: name }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    const result = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: AccessKey?.AccessKeyId }));
    expect(result.UserName).toBe(name);
    expect(result.AccessKeyLastUsed).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
  });
});
