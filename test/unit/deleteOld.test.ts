import { DeleteAccessKeyCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  keyMeta,
  makeCreated,
  makeRequest,
  noSuchEntity,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  uniqueUser,
  useHandler,
} from './support.js';

const { vault, handler } = useHandler<{ deleted: string[]; alreadyGone: string[] }>(
  () => import('../../functions/deleteOld.js'),
);
const iam = resetBeforeEach(mockClient(IAMClient), (mock) => mock.on(DeleteAccessKeyCommand).resolves({}));

const NEW_KEY = 'AKIANEWKEY0000000001';
const OLD_A = 'AKIAOLDKEY0000000001';
const OLD_B = 'AKIAOLDKEY0000000002';

function retirement(oldAccessKeyIds: string[], keys: ReturnType<typeof keyMeta>[], served = NEW_KEY) {
  const request = makeRequest({ userName: uniqueUser() });
  vault().writeSecret({
    mount: 'secret',
    path: request.vaultPath,
    data: { access_key: served, secret_key: 's' },
  });
  iam.on(ListAccessKeysCommand, { UserName: request.userName }).resolves({ AccessKeyMetadata: keys });
  return {
    request,
    event: { request, created: makeCreated(request.userName, { accessKeyId: NEW_KEY, oldAccessKeyIds }) },
  };
}

const deletedKeys = () => iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input.AccessKeyId);

describe('deleteOld handler', () => {
  it('deletes the Inactive old keys and nothing else', async () => {
    const { event } = retirement(
      [OLD_A, OLD_B],
      [
        keyMeta(OLD_A, 'Inactive', '2023-01-01T00:00:00Z'),
        keyMeta(OLD_B, 'Inactive', '2024-01-01T00:00:00Z'),
        keyMeta(NEW_KEY, 'Active', '2024-05-01T12:00:02Z'),
      ],
    );
    await expect(handler(event)).resolves.toEqual({ deleted: [OLD_A, OLD_B], alreadyGone: [] });
    expect(deletedKeys()).toEqual([OLD_A, OLD_B]);
  });

  it('throws OldKeyReactivatedError and deletes nothing when an old key is Active again', async () => {
    const { event } = retirement(
      [OLD_A, OLD_B],
      [
        keyMeta(OLD_A, 'Inactive', '2023-01-01T00:00:00Z'),
        keyMeta(OLD_B, 'Active', '2024-01-01T00:00:00Z'),
        keyMeta(NEW_KEY, 'Active', '2024-05-01T12:00:02Z'),
      ],
    );
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('OldKeyReactivatedError');
    expect(error.message).toContain(OLD_B);
    expect(error.message).not.toContain(OLD_A);
    expect(deletedKeys()).toEqual([]);
  });

  it('reports old keys that are no longer listed as already gone without deleting', async () => {
    const { event } = retirement([OLD_A], [keyMeta(NEW_KEY, 'Active', '2024-05-01T12:00:02Z')]);
    await expect(handler(event)).resolves.toEqual({ deleted: [], alreadyGone: [OLD_A] });
    expect(deletedKeys()).toEqual([]);
  });

  it('reports a key that disappears between listing and deleting as already gone', async () => {
    const { event } = retirement([OLD_A], [keyMeta(OLD_A, 'Inactive', '2023-01-01T00:00:00Z')]);
    iam.on(DeleteAccessKeyCommand).rejects(noSuchEntity('gone'));
    await expect(handler(event)).resolves.toEqual({ deleted: [], alreadyGone: [OLD_A] });
  });

  it('never deletes the key Vault serves, even if it is listed as old', async () => {
    const { event } = retirement(
      [OLD_A, OLD_B],
      [keyMeta(OLD_A, 'Inactive', '2023-01-01T00:00:00Z'), keyMeta(OLD_B, 'Active', '2024-01-01T00:00:00Z')],
      OLD_B,
    );
    await expect(handler(event)).resolves.toEqual({ deleted: [OLD_A], alreadyGone: [] });
    expect(deletedKeys()).toEqual([OLD_A]);
  });

  it('does nothing for a first rotation without old keys', async () => {
    const { event } = retirement([], [keyMeta(NEW_KEY, 'Active', '2024-05-01T12:00:02Z')]);
    await expect(handler(event)).resolves.toEqual({ deleted: [], alreadyGone: [] });
  });

  it('throws AwsUnavailableError when IAM throttles the delete', async () => {
    const { event } = retirement([OLD_A], [keyMeta(OLD_A, 'Inactive', '2023-01-01T00:00:00Z')]);
    iam.on(DeleteAccessKeyCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(handler(event))).name).toBe('AwsUnavailableError');
  });
});
