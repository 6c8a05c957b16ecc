import { DeleteAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  makeCreated,
  makeRequest,
  noSuchEntity,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  uniqueUser,
  useHandler,
} from './support.js';

const { vault, handler } = useHandler<{ accessKeyId: string; deleted: boolean }>(
  () => import('../../functions/discardNewKey.js'),
);
const iam = resetBeforeEach(mockClient(IAMClient), (mock) => mock.on(DeleteAccessKeyCommand).resolves({}));

const NEW_KEY = 'AKIANEWKEY0000000001';
const OLD_KEY = 'AKIAOLDKEY0000000001';

function discard(served: string | null) {
  const request = makeRequest({ userName: uniqueUser() });
  if (served) {
    vault().writeSecret({
      mount: 'secret',
      path: request.vaultPath,
      data: { access_key: served, secret_key: 's' },
    });
  }
  return { request, event: { request, created: makeCreated(request.userName, { accessKeyId: NEW_KEY }) } };
}

describe('discardNewKey handler', () => {
  it('deletes the new key once Vault serves the previous key again', async () => {
    const { request, event } = discard(OLD_KEY);
    await expect(handler(event)).resolves.toEqual({ accessKeyId: NEW_KEY, deleted: true });
    expect(iam.commandCalls(DeleteAccessKeyCommand).map((c) => c.args[0].input)).toEqual([
      { UserName: request.userName, AccessKeyId: NEW_KEY },
    ]);
  });

  it('deletes the new key when the path holds no key', async () => {
    const { event } = discard(null);
    await expect(handler(event)).resolves.toEqual({ accessKeyId: NEW_KEY, deleted: true });
  });

  it('throws RollbackUnsafeError and deletes nothing while Vault serves the new key', async () => {
    const { event } = discard(NEW_KEY);
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('RollbackUnsafeError');
    expect(error.message).toContain(NEW_KEY);
    expect(iam.calls()).toHaveLength(0);
  });

  it('answers deleted: false when the key is already gone (idempotent re-run)', async () => {
    const { event } = discard(OLD_KEY);
    iam.on(DeleteAccessKeyCommand).rejects(noSuchEntity('gone'));
    await expect(handler(event)).resolves.toEqual({ accessKeyId: NEW_KEY, deleted: false });
  });

  it('throws AwsUnavailableError when IAM fails with 5xx', async () => {
    const { event } = discard(OLD_KEY);
    iam.on(DeleteAccessKeyCommand).rejects(sdkError('ServiceFailure', 500, { Code: 'ServiceFailure' }));
    expect((await rejectionOf(handler(event))).name).toBe('AwsUnavailableError');
  });

  it('throws VaultUnavailableError, deleting nothing, while Vault is sealed', async () => {
    const { event } = discard(OLD_KEY);
    vault().seal();
    try {
      expect((await rejectionOf(handler(event))).name).toBe('VaultUnavailableError');
    } finally {
      vault().unseal();
    }
    expect(iam.calls()).toHaveLength(0);
  });
});
