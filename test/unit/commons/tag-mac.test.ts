import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { signTag, verifyTag } from '../../../functions/commons/tag-mac.js';
import { fakeMac, rejectionOf, sdkError, setAwsAuthEnv, tagMac, useFakeKms } from '../support.js';

const { kms } = useFakeKms();

const PIN_KEY = 'alias/rotator-pin';
const CLAIM_KEY = 'alias/rotator-claim';
const FIELDS = ['123456789012', 'AIDAEXAMPLE', 'aws/iam-users/alice', '2024-05-01T12:00:00.000Z'];

beforeAll(() => {
  setAwsAuthEnv();
});

describe('signTag', () => {
  it("returns the base64 MAC KMS GenerateMac makes under the tag kind's key, HMAC_SHA_256", async () => {
    const mac = await signTag('pin', FIELDS);
    expect(mac).toBe(tagMac(PIN_KEY, 'pin', FIELDS));
    expect(Buffer.from(mac, 'base64')).toHaveLength(32);
    const input = kms.commandCalls(GenerateMacCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ KeyId: PIN_KEY, MacAlgorithm: 'HMAC_SHA_256' });
  });

  it('signs the canonical message: the kind and version first, then the fields, as JSON', async () => {
    await signTag('claim', ['a', 'b']);
    const message = kms.commandCalls(GenerateMacCommand)[0]?.args[0].input.Message;
    expect(Buffer.from(message ?? new Uint8Array()).toString('utf8')).toBe(
      JSON.stringify(['iam-key-rotator/claim/v1', 'a', 'b']),
    );
    expect(kms.commandCalls(GenerateMacCommand)[0]?.args[0].input.KeyId).toBe(CLAIM_KEY);
  });

  it('throws AwsUnavailableError when KMS throttles GenerateMac', async () => {
    kms.on(GenerateMacCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(signTag('pin', FIELDS));
    expect(error.name).toBe('AwsUnavailableError');
    expect(error.message).toContain('kms:GenerateMac');
  });

  it('throws AwsRequestError when KMS refuses GenerateMac', async () => {
    kms.on(GenerateMacCommand).rejects(sdkError('AccessDeniedException', 400));
    expect((await rejectionOf(signTag('pin', FIELDS))).name).toBe('AwsRequestError');
  });

  it('throws AwsRequestError for a response without a Mac', async () => {
    kms.on(GenerateMacCommand).resolves({});
    const error = await rejectionOf(signTag('pin', FIELDS));
    expect(error.name).toBe('AwsRequestError');
    expect(error.message).toContain('kms:GenerateMac');
  });
});

describe('verifyTag', () => {
  it('accepts the MAC signTag made over the same fields', async () => {
    await expect(verifyTag('pin', FIELDS, await signTag('pin', FIELDS))).resolves.toBe(true);
    expect(kms.commandCalls(VerifyMacCommand)[0]?.args[0].input).toMatchObject({
      KeyId: PIN_KEY,
      MacAlgorithm: 'HMAC_SHA_256',
    });
  });

  it('refuses the MAC of other fields (KMS answers KMSInvalidMacException)', async () => {
    const mac = await signTag('pin', FIELDS);
    await expect(
      verifyTag('pin', [...FIELDS.slice(0, 2), 'aws/iam-users/mallory', FIELDS[3] ?? ''], mac),
    ).resolves.toBe(false);
  });

  it('refuses a pin MAC offered as a claim MAC: each kind has its own key and message', async () => {
    const mac = await signTag('pin', FIELDS);
    await expect(verifyTag('claim', FIELDS, mac)).resolves.toBe(false);
    // Even under the claim key, a MAC of the pin message is not one of the claim message.
    const pinMessageUnderClaimKey = fakeMac(
      CLAIM_KEY,
      Buffer.from(JSON.stringify(['iam-key-rotator/pin/v1', ...FIELDS])),
    ).toString('base64');
    await expect(verifyTag('claim', FIELDS, pinMessageUnderClaimKey)).resolves.toBe(false);
  });

  it.each([
    ['empty', ''],
    ['not base64', '!'.repeat(43) + '='],
    ['too short', Buffer.alloc(16).toString('base64')],
    ['too long', Buffer.alloc(48).toString('base64')],
  ])('refuses a MAC that is %s without asking KMS', async (_case, mac) => {
    await expect(verifyTag('pin', FIELDS, mac)).resolves.toBe(false);
    expect(kms.commandCalls(VerifyMacCommand)).toHaveLength(0);
  });

  it('refuses when KMS answers MacValid false', async () => {
    kms.on(VerifyMacCommand).resolves({ MacValid: false });
    await expect(verifyTag('pin', FIELDS, tagMac(PIN_KEY, 'pin', FIELDS))).resolves.toBe(false);
  });

  it('throws AwsUnavailableError, not "invalid", when KMS throttles VerifyMac', async () => {
    kms.on(VerifyMacCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(verifyTag('pin', FIELDS, tagMac(PIN_KEY, 'pin', FIELDS)));
    expect(error.name).toBe('AwsUnavailableError');
    expect(error.message).toContain('kms:VerifyMac');
  });

  it('throws AwsRequestError when KMS refuses VerifyMac', async () => {
    kms.on(VerifyMacCommand).rejects(sdkError('AccessDeniedException', 400));
    expect((await rejectionOf(verifyTag('pin', FIELDS, tagMac(PIN_KEY, 'pin', FIELDS)))).name).toBe(
      'AwsRequestError',
    );
  });
});
