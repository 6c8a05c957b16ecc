import { IAMClient, ListUserTagsCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessKeyInfo } from '../../../functions/commons/iam.js';
import { claim, ROTATION_TAG, rotationOwner, unstoredNewKeys } from '../../../functions/commons/ownership.js';
import { EXECUTION, makeRequest, rejectionOf, sdkError } from '../support.js';

const iam = mockClient(IAMClient);

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy',
    ROTATOR_KMS_KEY_ID: 'alias/rotator',
    VAULT_ADDR: 'http://127.0.0.1:9',
    VAULT_AUTH_METHOD: 'aws',
  });
});

beforeEach(() => {
  iam.reset();
});

const key = (accessKeyId: string, createDate: string): AccessKeyInfo => ({
  accessKeyId,
  status: 'Active',
  createDate,
});

describe('unstoredNewKeys', () => {
  const request = makeRequest({ startedAt: '2024-05-01T12:00:00.750Z' });

  it('returns keys created since the execution started that Vault does not hold', () => {
    const keys = [key('AKIAOLD', '2024-04-01T00:00:00.000Z'), key('AKIANEW', '2024-05-01T12:00:03.000Z')];
    expect(unstoredNewKeys(request, keys, 'AKIAOLD').map((k) => k.accessKeyId)).toEqual(['AKIANEW']);
  });

  it('counts a key created in the same second as the start (IAM dates have second precision)', () => {
    const keys = [key('AKIANEW', '2024-05-01T12:00:00.000Z')];
    expect(unstoredNewKeys(request, keys, null)).toHaveLength(1);
  });

  it('ignores a key created the second before the start', () => {
    expect(unstoredNewKeys(request, [key('AKIAOLD', '2024-05-01T11:59:59.000Z')], null)).toEqual([]);
  });

  it('ignores the new key once Vault holds it', () => {
    expect(unstoredNewKeys(request, [key('AKIANEW', '2024-05-01T12:00:03.000Z')], 'AKIANEW')).toEqual([]);
  });

  it('compares instants for a start time with an offset', () => {
    const offsetRequest = makeRequest({ startedAt: '2024-05-01T14:00:00.500+02:00' });
    expect(unstoredNewKeys(offsetRequest, [key('AKIANEW', '2024-05-01T12:00:00.000Z')], null)).toHaveLength(
      1,
    );
    expect(unstoredNewKeys(offsetRequest, [key('AKIAOLD', '2024-05-01T11:59:59.000Z')], null)).toEqual([]);
  });
});

describe('rotationOwner', () => {
  it('returns the execution the rotation tag names', async () => {
    iam
      .on(ListUserTagsCommand, { UserName: 'alice' })
      .resolves({ Tags: [{ Key: ROTATION_TAG, Value: EXECUTION }] });
    await expect(rotationOwner(makeRequest())).resolves.toBe(EXECUTION);
  });

  it('returns another execution when the tag names it', async () => {
    iam.on(ListUserTagsCommand).resolves({ Tags: [{ Key: ROTATION_TAG, Value: `${EXECUTION}-other` }] });
    await expect(rotationOwner(makeRequest())).resolves.toBe(`${EXECUTION}-other`);
  });

  it('returns undefined when the user has no rotation tag', async () => {
    iam.on(ListUserTagsCommand).resolves({ Tags: [{ Key: 'team', Value: EXECUTION }] });
    await expect(rotationOwner(makeRequest())).resolves.toBeUndefined();
  });

  it('throws AwsUnavailableError when IAM throttles', async () => {
    iam.on(ListUserTagsCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(rotationOwner(makeRequest()))).name).toBe('AwsUnavailableError');
  });
});

describe('claim', () => {
  it('tags the user with this execution', async () => {
    iam.on(TagUserCommand).resolves({});
    await claim(makeRequest({ userName: 'bob' }));
    expect(iam.commandCalls(TagUserCommand)[0]?.args[0].input).toEqual({
      UserName: 'bob',
      Tags: [{ Key: 'iam-key-rotator:execution', Value: EXECUTION }],
    });
  });

  it('throws AwsUnavailableError when tagging is throttled', async () => {
    iam.on(TagUserCommand).rejects(sdkError('Throttling', 400));
    expect((await rejectionOf(claim(makeRequest()))).name).toBe('AwsUnavailableError');
  });
});
