import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GenerateMacCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { Request } from '../../functions/commons/input.js';
import { readPin, VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import {
  ACCOUNT_ID,
  makeCreated,
  makeRequest,
  makeStored,
  rejectionOf,
  resetBeforeEach,
  SECRET,
  sdkError,
  uniqueUser,
  useFakeKms,
  useHandler,
  userArn,
  userIdOf,
} from './support.js';

const { vault, handler } = useHandler<{ arn: string; vaultVersion: number }>(
  () => import('../../functions/verifyKey.js'),
);
const sts = resetBeforeEach(mockClient(STSClient));
const iam = resetBeforeEach(mockClient(IAMClient));
const { kms } = useFakeKms();

const NEW_KEY = 'AKIANEWKEY0000000001';

/** Vault serving `served` (NEW_KEY by default) for a fresh user, and the VerifyKey event. */
function verification(served: string | null = NEW_KEY, requestOverrides: Partial<Request> = {}) {
  const request = makeRequest({ userName: uniqueUser(), ...requestOverrides });
  if (served !== null) {
    vault().writeSecret({
      mount: 'secret',
      path: request.vaultPath,
      data: { access_key: 'AKIAOLD', secret_key: 'old' },
    });
    vault().writeSecret({
      mount: 'secret',
      path: request.vaultPath,
      data: { access_key: served, secret_key: SECRET },
    });
  }
  const created = makeCreated(request.userName, { accessKeyId: NEW_KEY });
  return { request, event: { request, created, stored: makeStored() } };
}

describe('verifyKey handler', () => {
  describe('the Vault path pin', () => {
    const verified = (request: Request) =>
      sts.on(GetCallerIdentityCommand).resolves({ Arn: userArn(request.userName) });
    const pins = () => iam.commandCalls(TagUserCommand).map((c) => c.args[0].input);

    it('writes no tag when the user is pinned to this path already', async () => {
      const { request, event } = verification();
      verified(request);
      await expect(handler(event)).resolves.not.toHaveProperty('moved');
      expect(pins()).toEqual([]);
    });

    it('pins a user without a pin to the verified path, after STS accepted the key', async () => {
      const { request, event } = verification();
      verified(request);
      iam.on(TagUserCommand).resolves({});
      const result = await handler({ ...event, created: { ...event.created, pinnedVaultPath: null } });
      expect(result).not.toHaveProperty('moved');
      // Since issue 16 the pin is signed: the path and `v1 <time> <MAC>` in one TagUser call.
      expect(pins()).toEqual([
        {
          UserName: request.userName,
          Tags: [
            { Key: VAULT_PATH_TAG, Value: request.vaultPath },
            {
              Key: VAULT_PATH_MAC_TAG,
              Value: expect.stringMatching(/^v1 \S+Z [A-Za-z0-9+/]{43}=$/) as string,
            },
          ],
        },
      ]);
      const tags = Object.fromEntries((pins()[0]?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const subject = {
        accountId: ACCOUNT_ID,
        userId: userIdOf(request.userName),
        userName: request.userName,
      };
      await expect(readPin(tags, subject)).resolves.toEqual({ path: request.vaultPath, signed: true });
    });

    it('signs an unsigned pin (of an earlier version) to the verified path, reporting no move', async () => {
      const { request, event } = verification();
      verified(request);
      iam.on(TagUserCommand).resolves({});
      const result = await handler({ ...event, created: { ...event.created, pinSigned: false } });
      expect(result).toEqual({ arn: userArn(request.userName), vaultVersion: 2, pinned: true });
      expect(pins()[0]?.Tags?.map((t) => t.Key)).toEqual([VAULT_PATH_TAG, VAULT_PATH_MAC_TAG]);
    });

    it('keeps a verified key when KMS cannot sign its first pin: pinned false, the reason, no tag written', async () => {
      const { request, event } = verification();
      verified(request);
      kms.on(GenerateMacCommand).rejects(sdkError('AccessDeniedException', 400));
      const result = await handler({ ...event, created: { ...event.created, pinnedVaultPath: null } });
      expect(result).toMatchObject({
        pinned: false,
        pinFailure: 'AwsRequestError: kms:GenerateMac failed: AccessDeniedException (HTTP 400)',
      });
      expect(pins()).toEqual([]);
    });

    it('fails a move whose pin KMS cannot sign', async () => {
      const { request, event } = verification(NEW_KEY, { vaultPath: 'aws/iam-users/moved/there' });
      verified(request);
      kms.on(GenerateMacCommand).rejects(sdkError('ThrottlingException', 400));
      const error = await rejectionOf(
        handler({ ...event, created: { ...event.created, pinnedVaultPath: 'aws/iam-users/before' } }),
      );
      expect(error.name).toBe('AwsUnavailableError');
      expect(pins()).toEqual([]);
    });

    it('re-pins a moved key and reports the move', async () => {
      const { request, event } = verification(NEW_KEY, { vaultPath: 'aws/iam-users/moved/here' });
      verified(request);
      iam.on(TagUserCommand).resolves({});
      const result = await handler({
        ...event,
        created: { ...event.created, pinnedVaultPath: 'aws/iam-users/before' },
      });
      expect(result).toMatchObject({
        moved: { from: 'aws/iam-users/before', to: 'aws/iam-users/moved/here' },
      });
      expect(pins()).toHaveLength(1);
    });

    it('keeps a verified key when IAM refuses its first pin: pinned false, the reason, no error', async () => {
      const { request, event } = verification();
      verified(request);
      iam.on(TagUserCommand).rejects(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
      const result = await handler({ ...event, created: { ...event.created, pinnedVaultPath: null } });
      expect(result).toEqual({
        arn: userArn(request.userName),
        vaultVersion: 2,
        pinned: false,
        pinFailure: 'AwsRequestError: iam:TagUser failed: AccessDenied (HTTP 403)',
      });
      expect(JSON.stringify(result)).not.toContain(SECRET);
    });

    it('pins nothing when verification fails', async () => {
      const { event } = verification('AKIAOTHERKEY00000001');
      iam.on(TagUserCommand).resolves({});
      const error = await rejectionOf(
        handler({ ...event, created: { ...event.created, pinnedVaultPath: null } }),
      );
      expect(error.name).toBe('KeyVerificationError');
      expect(pins()).toEqual([]);
    });
  });

  it('returns the ARN STS reports for the key Vault serves, and the Vault version', async () => {
    const { request, event } = verification();
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Arn: userArn(request.userName), Account: '123456789012', UserId: 'AIDA' });
    const result = await handler(event);
    expect(result).toEqual({ arn: userArn(request.userName), vaultVersion: 2, pinned: true });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('signs GetCallerIdentity with the key pair read from Vault, without retries', async () => {
    const { request, event } = verification();
    let used: { credentials: unknown; maxAttempts: unknown } | undefined;
    sts.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
      const client = getClient();
      used = {
        credentials: await client.config.credentials(),
        maxAttempts: await client.config.maxAttempts(),
      };
      return { Arn: userArn(request.userName) };
    });
    await handler(event);
    expect(used?.credentials).toMatchObject({ accessKeyId: NEW_KEY, secretAccessKey: SECRET });
    expect(used?.maxAttempts).toBe(1);
  });

  it.each(['InvalidClientTokenId', 'UnrecognizedClientException', 'AuthFailure'])(
    'throws transient KeyNotYetValidError while STS answers %s',
    async (code) => {
      const { event } = verification();
      sts.on(GetCallerIdentityCommand).rejects(sdkError(code, 403, { Code: code }));
      const error = await rejectionOf(handler(event));
      expect(error.name).toBe('KeyNotYetValidError');
      expect(error).toMatchObject({ transient: true });
      expect(error.message).toContain(NEW_KEY);
      expect(error.message).not.toContain(SECRET);
    },
  );

  it('throws KeyVerificationError when STS rejects the signature of the stored secret', async () => {
    const { event } = verification();
    sts
      .on(GetCallerIdentityCommand)
      .rejects(sdkError('SignatureDoesNotMatch', 403, { Code: 'SignatureDoesNotMatch' }));
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('KeyVerificationError');
    expect(error.message).not.toContain(SECRET);
  });

  it('throws KeyVerificationError when the key belongs to another principal', async () => {
    const { event } = verification();
    sts.on(GetCallerIdentityCommand).resolves({ Arn: userArn('mallory') });
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('KeyVerificationError');
    expect(error.message).toContain(userArn('mallory'));
  });

  it('throws KeyVerificationError when STS returns no ARN', async () => {
    const { event } = verification();
    sts.on(GetCallerIdentityCommand).resolves({});
    expect((await rejectionOf(handler(event))).name).toBe('KeyVerificationError');
  });

  it('throws KeyVerificationError without calling STS when Vault serves another key', async () => {
    const { event } = verification('AKIAOTHERKEY00000001');
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('KeyVerificationError');
    expect(error.message).toContain('AKIAOTHERKEY00000001');
    expect(error.message).not.toContain(SECRET);
    expect(sts.calls()).toHaveLength(0);
  });

  it('throws KeyVerificationError when Vault serves no key', async () => {
    const { event } = verification(null);
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('KeyVerificationError');
    expect(error.message).toContain('no key');
  });

  it('throws AwsUnavailableError when STS throttles', async () => {
    const { event } = verification();
    sts.on(GetCallerIdentityCommand).rejects(sdkError('Throttling', 400, { Code: 'Throttling' }));
    expect((await rejectionOf(handler(event))).name).toBe('AwsUnavailableError');
  });

  it('throws AwsUnavailableError when STS cannot be reached', async () => {
    const { event } = verification();
    sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    expect((await rejectionOf(handler(event))).name).toBe('AwsUnavailableError');
  });

  it('throws InvalidInputError when stored is missing', async () => {
    const { request } = verification();
    const error = await rejectionOf(handler({ request, created: makeCreated(request.userName) }));
    expect(error.name).toBe('InvalidInputError');
  });
  describe('the account', () => {
    const MEMBER = '222222222222';
    const memberArn = (userName: string) => `arn:aws:iam::${MEMBER}:user/${userName}`;

    it("accepts the key of a user in the execution's account, another than the rotator's", async () => {
      const { request, event } = verification(NEW_KEY, { accountId: MEMBER });
      sts.on(GetCallerIdentityCommand).resolves({ Arn: memberArn(request.userName), Account: MEMBER });
      const created = { ...event.created, userArn: memberArn(request.userName) };
      await expect(handler({ ...event, created })).resolves.toEqual({
        arn: memberArn(request.userName),
        vaultVersion: 2,
        pinned: true,
      });
    });

    it.each([
      ['an execution in the own account', {}, memberArn],
      ['an execution in the own account, named', { accountId: ACCOUNT_ID }, memberArn],
      ['an execution in another account', { accountId: MEMBER }, userArn],
    ])(
      'throws KeyVerificationError for %s whose created user is of another account, and pins nothing',
      async (_what, overrides, arnOf) => {
        const { request, event } = verification(NEW_KEY, overrides);
        const created = { ...event.created, userArn: arnOf(request.userName), pinnedVaultPath: null };
        sts.on(GetCallerIdentityCommand).resolves({ Arn: created.userArn });
        const error = await rejectionOf(handler({ ...event, created }));
        expect(error.name).toBe('KeyVerificationError');
        expect(error.message).toBe(
          `${created.userArn} is not a user of account ${request.accountId ?? ACCOUNT_ID}, where this execution rotates`,
        );
        expect(iam.calls()).toHaveLength(0);
      },
    );

    it('throws KeyVerificationError when STS places the key with a user of the same name in another account', async () => {
      const { request, event } = verification();
      sts.on(GetCallerIdentityCommand).resolves({ Arn: memberArn(request.userName), Account: MEMBER });
      const error = await rejectionOf(handler(event));
      expect(error.name).toBe('KeyVerificationError');
      expect(error.message).toContain(
        `belongs to ${memberArn(request.userName)}, not ${userArn(request.userName)}`,
      );
    });
  });
});
