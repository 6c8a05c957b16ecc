import {
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_SKEW_SECONDS,
  DEFAULT_IN_USE_MARGIN_SECONDS,
  DEFAULT_REFRESH_SECONDS,
} from '../../functions/commons/credential-refresh.js';
import type { Request } from '../../functions/commons/input.js';
import {
  keyMeta,
  makeCreated,
  makeRequest,
  makeStored,
  noSuchEntity,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  uniqueUser,
  useHandler,
} from './support.js';

interface Deactivated {
  deactivated: string[];
  skipped: string[];
  waiting: boolean;
  inUse: { accessKeyId: string; lastUsedAt: string }[];
}

// Defaults: ROTATOR_IN_USE_MARGIN_SECONDS=DEFAULT_IN_USE_MARGIN_SECONDS (360), ROTATOR_IN_USE_MAX_WAIT_SECONDS=86400.
const { vault, handler } = useHandler<Deactivated>(() => import('../../functions/deactivateOld.js'));
const iam = resetBeforeEach(mockClient(IAMClient), (mock) => {
  mock.on(UpdateAccessKeyCommand).resolves({});
  mock.on(GetAccessKeyLastUsedCommand).resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
});

const NEW_KEY = 'AKIANEWKEY0000000001';
const OLD_A = 'AKIAOLDKEY0000000001';
const OLD_B = 'AKIAOLDKEY0000000002';
const MINUTE = 60_000;

interface Options {
  oldAccessKeyIds?: string[];
  served?: string;
  storedAt?: Date;
  policy?: Request['oldKeyInUse'];
}

/** Vault serves NEW_KEY for a fresh user whose old keys all still exist; returns the event. */
function retirement({
  oldAccessKeyIds = [OLD_A],
  served = NEW_KEY,
  storedAt,
  policy = 'wait',
}: Options = {}) {
  const request = makeRequest({ userName: uniqueUser(), oldKeyInUse: policy });
  vault().writeSecret({
    mount: 'secret',
    path: request.vaultPath,
    data: { access_key: served, secret_key: 's' },
  });
  iam.on(ListAccessKeysCommand, { UserName: request.userName }).resolves({
    AccessKeyMetadata: [...oldAccessKeyIds, NEW_KEY].map((id) =>
      keyMeta(id, 'Active', '2024-01-01T00:00:00Z'),
    ),
  });
  const created = makeCreated(request.userName, { accessKeyId: NEW_KEY, oldAccessKeyIds });
  const stored = makeStored({ storedAt: (storedAt ?? new Date(Date.now() - 10 * MINUTE)).toISOString() });
  return { request, event: { request, created, stored } };
}

function lastUsed(accessKeyId: string, at: Date) {
  iam.on(GetAccessKeyLastUsedCommand, { AccessKeyId: accessKeyId }).resolves({
    UserName: 'alice',
    AccessKeyLastUsed: { LastUsedDate: at, ServiceName: 's3', Region: 'eu-west-1' },
  });
}

const updated = () => iam.commandCalls(UpdateAccessKeyCommand).map((c) => c.args[0].input);

describe('deactivateOld handler', () => {
  describe('retiring old keys', () => {
    it('sets every old key to Inactive', async () => {
      const { request, event } = retirement({ oldAccessKeyIds: [OLD_A, OLD_B] });
      await expect(handler(event)).resolves.toEqual({
        deactivated: [OLD_A, OLD_B],
        skipped: [],
        waiting: false,
        inUse: [],
      });
      expect(updated()).toEqual([
        { UserName: request.userName, AccessKeyId: OLD_A, Status: 'Inactive' },
        { UserName: request.userName, AccessKeyId: OLD_B, Status: 'Inactive' },
      ]);
    });

    it('touches only oldAccessKeyIds, never the new key', async () => {
      const { event } = retirement({ oldAccessKeyIds: [OLD_A] });
      await handler(event);
      expect(updated().map((input) => input.AccessKeyId)).toEqual([OLD_A]);
    });

    it('never deactivates the key Vault serves, even when it is listed as old', async () => {
      const { event } = retirement({ oldAccessKeyIds: [OLD_A, OLD_B], served: OLD_A });
      const result = await handler(event);
      expect(result).toMatchObject({ deactivated: [OLD_B], skipped: [OLD_A] });
      expect(updated().map((input) => input.AccessKeyId)).toEqual([OLD_B]);
    });

    it('skips an old key that is already gone', async () => {
      const { request, event } = retirement({ oldAccessKeyIds: [OLD_A, OLD_B] });
      // OLD_B was deleted by an operator: IAM no longer lists it and answers NoSuchEntity for it.
      iam.on(ListAccessKeysCommand, { UserName: request.userName }).resolves({
        AccessKeyMetadata: [
          keyMeta(OLD_A, 'Active', '2024-01-01T00:00:00Z'),
          keyMeta(NEW_KEY, 'Active', '2024-05-01T12:00:02Z'),
        ],
      });
      iam.on(GetAccessKeyLastUsedCommand, { AccessKeyId: OLD_B }).rejects(noSuchEntity());
      iam.on(UpdateAccessKeyCommand, { AccessKeyId: OLD_B }).rejects(noSuchEntity());
      await expect(handler(event)).resolves.toMatchObject({
        deactivated: [OLD_A],
        skipped: [OLD_B],
        waiting: false,
      });
    });

    it('skips a key that disappears between the last-used check and the update', async () => {
      const { event } = retirement({ oldAccessKeyIds: [OLD_A] });
      iam.on(UpdateAccessKeyCommand).rejects(noSuchEntity());
      await expect(handler(event)).resolves.toMatchObject({
        deactivated: [],
        skipped: [OLD_A],
        waiting: false,
      });
    });

    it('does nothing without old keys', async () => {
      const { event } = retirement({ oldAccessKeyIds: [] });
      await expect(handler(event)).resolves.toEqual({
        deactivated: [],
        skipped: [],
        waiting: false,
        inUse: [],
      });
      expect(updated()).toEqual([]);
    });

    it('throws AwsUnavailableError when IAM throttles the update', async () => {
      const { event } = retirement();
      iam.on(UpdateAccessKeyCommand).rejects(sdkError('Throttling', 400));
      expect((await rejectionOf(handler(event))).name).toBe('AwsUnavailableError');
    });
  });

  describe('old key still in use', () => {
    const storedAt = new Date(Date.now() - 10 * MINUTE);
    // Later than the margin after the store: no consumer that refreshes on time still holds the old key.
    const afterStore = new Date(storedAt.getTime() + 400_000);

    it('deactivates a key last used before the store plus the margin', async () => {
      const { event } = retirement({ storedAt });
      lastUsed(OLD_A, new Date(storedAt.getTime() + 30_000));
      await expect(handler(event)).resolves.toMatchObject({
        deactivated: [OLD_A],
        waiting: false,
        inUse: [],
      });
    });

    it('does not count a use by a consumer that re-reads Vault on time, and counts one past the margin', async () => {
      const refreshed = retirement({ storedAt, policy: 'fail' });
      // The last use before its refresh, at the latest: refresh + skew is within the default margin.
      expect(DEFAULT_REFRESH_SECONDS + CLOCK_SKEW_SECONDS).toBeLessThanOrEqual(DEFAULT_IN_USE_MARGIN_SECONDS);
      lastUsed(OLD_A, new Date(storedAt.getTime() + DEFAULT_REFRESH_SECONDS * 1000));
      await expect(handler(refreshed.event)).resolves.toMatchObject({ deactivated: [OLD_A], inUse: [] });

      const stale = retirement({ storedAt, policy: 'fail' });
      lastUsed(OLD_A, afterStore);
      const error = await rejectionOf(handler(stale.event));
      expect(error.name).toBe('OldKeyStillInUseError');
      expect(error.message).toContain(OLD_A);
    });

    it('does not count a use older than the re-check interval: the consumer has switched since', async () => {
      const earlier = new Date(Date.now() - 30 * MINUTE);
      const { event } = retirement({ storedAt: earlier, policy: 'fail' });
      // Used 5 minutes after the store, but 25 minutes ago; makeRequest re-checks every 15 minutes.
      lastUsed(OLD_A, new Date(earlier.getTime() + 5 * MINUTE));
      await expect(handler(event)).resolves.toMatchObject({
        deactivated: [OLD_A],
        waiting: false,
        inUse: [],
      });
    });

    it('waits without deactivating anything under policy wait', async () => {
      const { event } = retirement({ oldAccessKeyIds: [OLD_A, OLD_B], storedAt, policy: 'wait' });
      lastUsed(OLD_A, afterStore);
      const result = await handler(event);
      expect(result).toEqual({
        deactivated: [],
        skipped: [],
        waiting: true,
        inUse: [{ accessKeyId: OLD_A, lastUsedAt: afterStore.toISOString() }],
      });
      expect(updated()).toEqual([]);
    });

    it('throws OldKeyStillInUseError under policy wait once the maximum wait has passed', async () => {
      const longAgo = new Date(Date.now() - 2 * 86_400_000);
      const { event } = retirement({ storedAt: longAgo, policy: 'wait' });
      lastUsed(OLD_A, new Date(Date.now() - MINUTE));
      const error = await rejectionOf(handler(event));
      expect(error.name).toBe('OldKeyStillInUseError');
      expect(updated()).toEqual([]);
    });

    it('throws OldKeyStillInUseError naming the key and leaving both keys Active under policy fail', async () => {
      const { event } = retirement({ storedAt, policy: 'fail' });
      lastUsed(OLD_A, afterStore);
      const error = await rejectionOf(handler(event));
      expect(error.name).toBe('OldKeyStillInUseError');
      expect(error.message).toContain(OLD_A);
      expect(updated()).toEqual([]);
    });

    it('deactivates anyway and reports the use under policy proceed', async () => {
      const { event } = retirement({ storedAt, policy: 'proceed' });
      lastUsed(OLD_A, afterStore);
      await expect(handler(event)).resolves.toEqual({
        deactivated: [OLD_A],
        skipped: [],
        waiting: false,
        inUse: [{ accessKeyId: OLD_A, lastUsedAt: afterStore.toISOString() }],
      });
    });

    it('does not ask when Vault’s own key was last used', async () => {
      const { event } = retirement({ oldAccessKeyIds: [OLD_A], served: OLD_A, storedAt, policy: 'fail' });
      lastUsed(OLD_A, afterStore);
      await expect(handler(event)).resolves.toMatchObject({ skipped: [OLD_A], waiting: false, inUse: [] });
    });
  });

  it('throws InvalidInputError when stored is missing', async () => {
    const { request } = retirement();
    const error = await rejectionOf(handler({ request, created: makeCreated(request.userName) }));
    expect(error.name).toBe('InvalidInputError');
  });
});
