import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from '../../local-stack/aws/index.js';
import type { SharedMoto } from './support.js';
import { type Outcome, probe } from './probes.js';

const REGION = 'us-east-1';

type Row = [ours: Outcome, motoPlain: Outcome, motoAuthorized: Outcome];
const same = (outcome: Outcome): Row => [outcome, outcome, outcome];
const ARN = 'ok: arn:aws:iam::123456789012:user/rotated/';

/**
 * Each probe's answer from [our AWS emulator, moto with authorization off, moto with it on]. Where
 * they differ, the comment says which one AWS agrees with, where AWS documents it, and what it
 * means for the rotator. `<user>` stands for the probe's user name.
 */
const EXPECTED: Record<string, Row> = {
  'lastUsed of a key never used': same('ok: no date, service N/A, region N/A'),
  // moto has no IAM propagation delay (ours: --propagation-ms, 0 here): a new key works at once.
  'sts with a key just created': same(`${ARN}<user>`),
  // Ours answers whole seconds, moto milliseconds. The in-use check compares with a threshold in
  // whole seconds, so either works.
  'lastUsed after an sts call': [
    'ok: s, service sts, region us-east-1',
    'ok: ms, service sts, region us-east-1',
    'ok: ms, service sts, region us-east-1',
  ],
  // moto checks no signature while its authorization is off: VerifyKey proves nothing there.
  'sts with a wrong secret': ['error: SignatureDoesNotMatch', `${ARN}<user>`, 'error: SignatureDoesNotMatch'],
  // moto records a use before it authenticates the request (ours: only authenticated requests of an
  // Active key): on moto a client still presenting a wrong or deactivated key keeps it "in use".
  'lastUsed after a wrong-secret call': [
    'ok: no date, service N/A, region N/A',
    'ok: ms, service sts, region us-east-1',
    'ok: ms, service sts, region us-east-1',
  ],
  // moto answers for a key it does not know with a made-up identity while authorization is off.
  'sts with an unknown key id': [
    'error: InvalidClientTokenId',
    'ok: arn:aws:sts::123456789012:user/moto',
    'error: InvalidClientTokenId',
  ],
  'a third key': same('error: LimitExceeded'),
  'UpdateAccessKey Inactive': same('ok'),
  // AWS refuses an Inactive key (InvalidClientTokenId), as ours does; moto authenticates it even
  // with authorization on, so on moto a deactivated old key still "works".
  'sts with an Inactive key': ['error: InvalidClientTokenId', `${ARN}<user>`, `${ARN}<user>`],
  'lastUsed after an Inactive-key call': [
    'ok: no date, service N/A, region N/A',
    'ok: ms, service sts, region us-east-1',
    'ok: ms, service sts, region us-east-1',
  ],
  'UpdateAccessKey of another user': same('error: NoSuchEntity'),
  'DeleteAccessKey of another user': same('error: NoSuchEntity'),
  'sts with a deleted key': [
    'error: InvalidClientTokenId',
    'ok: arn:aws:sts::123456789012:user/moto',
    'error: InvalidClientTokenId',
  ],
  'lastUsed of a deleted key': same('error: NoSuchEntity'),
  'DeleteAccessKey again': same('error: NoSuchEntity'),
  ListAccessKeys: ['ok: Active, s', 'ok: Active, ms', 'ok: Active, ms'],
  'GetUser arn': same('ok: user/rotated/<user>'),
  'GetUser unknown': same('error: NoSuchEntity'),
  'ListAccessKeys unknown user': same('error: NoSuchEntity'),
  'TagUser then ListUserTags': same('ok: iam-key-rotator:execution, iam-key-rotator:claim'),
  'TagUser with an empty value': same('ok'),
  'ListUserTags after a tag is overwritten': same(
    'ok: iam-key-rotator:execution=arn:aws:states:x:1:execution:m:n abc, iam-key-rotator:claim=',
  ),
  'ListUserTags of a user without tags': same('ok: 0'),
  'CreateAccessKey for an unknown user': same('error: NoSuchEntity'),
  // Ours gives AWS's message (action, resource, reason); moto's names no resource and no reason.
  'iam:ListAccessKeys by a role without it': [
    'error: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/<role>/probe is not authorized to perform: iam:ListAccessKeys on resource: user <user> because no identity-based policy allows the iam:ListAccessKeys action',
    'ok',
    'error: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/<role>/probe is not authorized to perform: iam:ListAccessKeys',
  ],
  // moto answers KMS's denial with IAM's XML body on KMS's JSON protocol: the SDK cannot parse it.
  'kms:Encrypt by a role without it': [
    'error: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/<role>/probe is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:123456789012:key/<key> because no identity-based policy allows the kms:Encrypt action',
    'ok',
    // The parser's words are Node's.
    expect.stringMatching(/^error: SyntaxError: Unexpected token '<'/) as Outcome,
  ],
  'Decrypt with the same context': same('ok: s'),
  'Decrypt with another purpose': same('error: InvalidCiphertextException'),
  'Decrypt without context': same('error: InvalidCiphertextException'),
  // AWS (Decrypt's reference) and ours: IncorrectKeyException when KeyId is not the key that
  // encrypted; moto: AccessDeniedException. unseal() names both InvalidCiphertextException and
  // IncorrectKeyException SealedSecretError; on moto that mistake would end AwsRequestError.
  'Decrypt naming another key': [
    'error: IncorrectKeyException',
    'error: AccessDeniedException',
    'error: AccessDeniedException',
  ],
  // The pin and claim MACs (issue 16). moto's key metadata has no MacAlgorithms; nothing reads it.
  'CreateKey HMAC_256': [
    'ok: HMAC_256, GENERATE_VERIFY_MAC, HMAC_SHA_256',
    'ok: HMAC_256, GENERATE_VERIFY_MAC, undefined',
    'ok: HMAC_256, GENERATE_VERIFY_MAC, undefined',
  ],
  // AWS (CreateKey's reference: GENERATE_VERIFY_MAC is an HMAC key's only usage) and ours refuse;
  // moto makes the key. Provisioning names the usage, so either works for the rotator.
  'CreateKey HMAC_256 with ENCRYPT_DECRYPT': ['error: ValidationException', 'ok', 'ok'],
  // Ours answers the key ARN, as KMS's cryptographic operations do; moto echoes the key id given.
  // The rotator reads only the Mac and MacValid.
  GenerateMac: [
    'ok: 32 bytes, HMAC_SHA_256, arn:aws:kms:us-east-1:123456789012:key/<hmac-key>',
    'ok: 32 bytes, HMAC_SHA_256, <hmac-key>',
    'ok: 32 bytes, HMAC_SHA_256, <hmac-key>',
  ],
  'VerifyMac of that MAC': [
    'ok: true, arn:aws:kms:us-east-1:123456789012:key/<hmac-key>',
    'ok: true, <hmac-key>',
    'ok: true, <hmac-key>',
  ],
  // As AWS documents: a MAC that does not match fails VerifyMac; it never answers MacValid false.
  'VerifyMac of a changed message': same('error: KMSInvalidMacException'),
  'VerifyMac of a truncated MAC': same('error: KMSInvalidMacException'),
  // AWS (GenerateMac's reference: the algorithm must be one the key supports; InvalidKeyUsageException)
  // and ours refuse; moto computes an HMAC-SHA-512 with the HMAC_256 key. The rotator always asks
  // HMAC_SHA_256 of HMAC_256 keys.
  'GenerateMac with HMAC_SHA_512 on an HMAC_256 key': ['error: InvalidKeyUsageException', 'ok', 'ok'],
  'GenerateMac with an encryption key': same('error: InvalidKeyUsageException'),
  // The model bounds Message to 1..4096 bytes; moto does not check. The rotator's messages are short.
  'GenerateMac of 4097 bytes': ['error: ValidationException', 'ok', 'ok'],
  // moto ignores DryRun and computes the MAC; the rotator never sets it.
  'GenerateMac DryRun': ['error: DryRunOperationException', 'ok', 'ok'],
  // As for kms:Encrypt: moto's denial is IAM's XML on KMS's JSON protocol.
  'kms:GenerateMac by a role without it': [
    'error: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/<role>/probe is not authorized to perform: kms:GenerateMac on resource: arn:aws:kms:us-east-1:123456789012:key/<hmac-key> because no identity-based policy allows the kms:GenerateMac action',
    'ok',
    expect.stringMatching(/^error: SyntaxError: Unexpected token '<'/) as Outcome,
  ],
};

/** The probes on our emulator and on moto, without and with moto's authorization. */
export function differenceCases(shared: () => SharedMoto): void {
  let ours: AwsEmulator | undefined;
  beforeAll(async () => {
    ours = await startAwsEmulator({ region: REGION });
  });
  afterAll(async () => {
    await ours?.close();
  });

  it("answers the handlers' calls as recorded: where moto differs from our emulator and AWS", async () => {
    if (!ours) throw new Error('not started');
    const { server, admin } = shared();
    const local = await probe(
      { endpoint: ours.endpoint, region: REGION, credentials: ours.adminCredentials },
      'ours',
    );
    const onMoto = { endpoint: server.endpoint, region: REGION, credentials: admin };
    await server.setAuthorization(false);
    const plain = await probe(onMoto, 'plain');
    await server.setAuthorization(true);
    const authorized = await probe(onMoto, 'authorized');
    const table = Object.fromEntries(
      Object.keys(local).map((name) => [name, [local[name], plain[name], authorized[name]]]),
    );
    expect(table).toEqual(EXPECTED);
  });
}
