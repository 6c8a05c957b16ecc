import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  paginateListUsers,
  TagUserCommand,
  type User,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { clients, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();

describe('IAM list pagination (MaxItems, Marker, IsTruncated)', () => {
  it('pages ListUsers under a path, and the SDK paginator reads every page', async () => {
    const { iam } = clients(emulator());
    const path = `/${uniqueName('paged')}/`;
    const names = Array.from({ length: 7 }, (_, i) => `paged-user-${i}`);
    for (const name of names) await iam.send(new CreateUserCommand({ UserName: name, Path: path }));

    const first = await iam.send(new ListUsersCommand({ PathPrefix: path, MaxItems: 3 }));
    expect(first.Users?.map((u) => u.UserName)).toEqual(names.slice(0, 3));
    expect(first.IsTruncated).toBe(true);
    expect(first.Marker).toEqual(expect.any(String));
    const second = await iam.send(
      new ListUsersCommand({ PathPrefix: path, MaxItems: 3, Marker: first.Marker }),
    );
    expect(second.Users?.map((u) => u.UserName)).toEqual(names.slice(3, 6));
    const last = await iam.send(
      new ListUsersCommand({ PathPrefix: path, MaxItems: 3, Marker: second.Marker }),
    );
    expect(last.Users?.map((u) => u.UserName)).toEqual(names.slice(6));
    expect(last.IsTruncated).toBe(false);
    expect(last.Marker).toBeUndefined();

    const all: User[] = [];
    for await (const page of paginateListUsers({ client: iam, pageSize: 2 }, { PathPrefix: path })) {
      all.push(...(page.Users ?? []));
    }
    expect(all.map((u) => u.UserName)).toEqual(names);
  });

  it('defaults to 100 items and refuses MaxItems outside 1-1000 and a marker it never returned', async () => {
    const { iam } = clients(emulator());
    const everyone = await iam.send(new ListUsersCommand({}));
    expect(everyone.IsTruncated).toBe(false);
    const refused = { name: 'ValidationError', $metadata: { httpStatusCode: 400 } };
    await expect(iam.send(new ListUsersCommand({ MaxItems: 0 }))).rejects.toMatchObject(refused);
    await expect(iam.send(new ListUsersCommand({ MaxItems: 1001 }))).rejects.toMatchObject(refused);
    await expect(iam.send(new ListUsersCommand({ Marker: 'bm90LWEtbWFya2Vy' }))).rejects.toMatchObject(
      refused,
    );
  });

  it('pages ListAccessKeys and ListUserTags, and a page boundary survives a deletion before it', async () => {
    const { iam } = clients(emulator());
    const name = uniqueName('paged-keys');
    await iam.send(new CreateUserCommand({ UserName: name, Path: '/rotated/' }));
    const a = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey?.AccessKeyId;
    const b = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey?.AccessKeyId;
    const first = await iam.send(new ListAccessKeysCommand({ UserName: name, MaxItems: 1 }));
    expect(first.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([a]);
    expect(first.IsTruncated).toBe(true);
    await iam.send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: a }));
    const rest = await iam.send(
      new ListAccessKeysCommand({ UserName: name, MaxItems: 1, Marker: first.Marker }),
    );
    expect(rest.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([b]);
    expect(rest.IsTruncated).toBe(false);

    const Tags = Array.from({ length: 5 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await iam.send(new TagUserCommand({ UserName: name, Tags }));
    const tags = await iam.send(new ListUserTagsCommand({ UserName: name, MaxItems: 4 }));
    expect(tags.Tags).toEqual(Tags.slice(0, 4));
    expect(tags.IsTruncated).toBe(true);
    const more = await iam.send(
      new ListUserTagsCommand({ UserName: name, MaxItems: 4, Marker: tags.Marker }),
    );
    expect(more.Tags).toEqual(Tags.slice(4));
    expect(more.IsTruncated).toBe(false);
  });
});
