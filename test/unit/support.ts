/**
 * Shared fixtures of the unit tests: environment, events, SDK-shaped errors, a fake KMS and the
 * in-process Vault emulator. Not a test file itself (vitest only collects *.test.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NoSuchEntityException } from '@aws-sdk/client-iam';
import {
  GenerateMacCommand,
  type GenerateMacRequest,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KMSClient,
  KMSInvalidMacException,
  NotFoundException,
  VerifyMacCommand,
  type VerifyMacRequest,
} from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { startVaultEmulator, type VaultEmulator } from '../../local-stack/vault/index.js';
import type { Request } from '../../functions/commons/input.js';
import type { Created, Stored } from '../../functions/commons/state.js';
import type { VaultConfig } from '../../functions/commons/vault/config.js';
import { privateCa } from '../support/tls.js';

/** A secret access key that must never leave the handlers in clear. */
export const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const OLD_SECRET = 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY';

export const REGION = 'eu-west-1';
export const KMS_KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const PIN_KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/0000pin0-12ab-34cd-56ef-1234567890ab';
export const CLAIM_KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/000claim-12ab-34cd-56ef-1234567890ab';
export const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:rotate-access-key:run-1';
export const STARTED_AT = '2024-05-01T12:00:00.750Z';
/** When this execution made its own claim on the user: after it started (STARTED_AT). */
export const OWN_CLAIM_AT = '2024-05-01T12:00:00.900Z';
/** A user's key from before any execution, and when it was made. */
export const OLD_KEY = 'AKIAOLDKEY0000000001';
export const BEFORE = '2024-03-01T08:00:00Z';
export const ACCOUNT_ID = '123456789012';

/** Sets the environment every handler reads; call before importing a handler module. */
export function setHandlerEnv(
  vault: { addr: string; rootToken: string },
  extra: Record<string, string> = {},
) {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('VAULT_') || name.startsWith('ROTATOR_') || name.startsWith('AWS_ENDPOINT_URL')) {
      Reflect.deleteProperty(process.env, name);
    }
  }
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy-function-secret-not-used',
    ROTATOR_KMS_KEY_ID: KMS_KEY_ID,
    ROTATOR_PIN_KEY_ID: PIN_KEY_ID,
    ROTATOR_CLAIM_KEY_ID: CLAIM_KEY_ID,
    ROTATOR_ACCOUNT_ID: ACCOUNT_ID,
    VAULT_ADDR: vault.addr,
    VAULT_AUTH_METHOD: 'token',
    VAULT_TOKEN: vault.rootToken,
    VAULT_TIMEOUT_MS: '2000',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  });
}

type AwsAuth = Extract<VaultConfig['auth'], { method: 'aws' }>;

/** Vault aws-auth settings as a deployment without VAULT_AWS_* variables gets them (the documented defaults). */
export function awsAuthSettings(extra: Partial<AwsAuth> = {}): AwsAuth {
  return {
    method: 'aws',
    mount: 'aws',
    role: 'iam-key-rotator',
    serverId: undefined,
    stsEndpoint: 'https://sts.amazonaws.com',
    stsRegion: 'us-east-1',
    ...extra,
  };
}

/** A complete VaultConfig for clients built directly in a test: token auth from the environment, plain HTTP. */
export function vaultSettings(addr: string, token: string, extra: Partial<VaultConfig> = {}): VaultConfig {
  return {
    addr,
    namespace: undefined,
    mount: 'secret',
    kvVersion: 'auto',
    pathPrefix: '',
    pathTemplate: '{prefix}{userName}',
    fields: { accessKeyId: 'access_key', secretAccessKey: 'secret_key' },
    extraFields: {},
    timeoutMs: 2_000,
    auth: { method: 'token', token: { kind: 'env', value: token } },
    tls: { ca: undefined, clientCert: undefined, skipVerify: false },
    ...extra,
  };
}

export async function startVault(): Promise<VaultEmulator> {
  return startVaultEmulator({ stsEndpoint: 'http://127.0.0.1:9' });
}

/** An emulator serving HTTPS under a fresh private CA, and that CA's certificate, for the TLS tests. */
export async function startTlsVault(): Promise<{ vault: VaultEmulator; caCert: string }> {
  const ca = privateCa();
  const vault = await startVaultEmulator({
    stsEndpoint: 'http://127.0.0.1:9',
    tls: { key: ca.key, cert: ca.cert },
  });
  return { vault, caCert: ca.caCert };
}

/** The environment of an aws-auth deployment, for library modules that read config() but reach no Vault. */
export function setAwsAuthEnv(extra: Record<string, string> = {}) {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'dummy',
    ROTATOR_KMS_KEY_ID: 'alias/rotator',
    ROTATOR_PIN_KEY_ID: 'alias/rotator-pin',
    ROTATOR_CLAIM_KEY_ID: 'alias/rotator-claim',
    ROTATOR_ACCOUNT_ID: ACCOUNT_ID,
    VAULT_ADDR: 'http://127.0.0.1:9',
    VAULT_AUTH_METHOD: 'aws',
    ...extra,
  });
}

/** A module under test, loaded once per file against a running emulator (see useVaultAndModule). */
export interface VaultAndModule<M> {
  vault(): VaultEmulator;
  module(): M;
  /** A fresh import under the handler environment plus `extra`; call setHandlerEnv(vault()) after to restore it. */
  deployment(extra: Record<string, string>): Promise<M>;
}

/** Starts the emulator, sets the handler environment and imports `load` for the file, then closes it: each Vault-backed file needs this. */
export function useVaultAndModule<M>(load: () => Promise<M>): VaultAndModule<M> {
  let vault: VaultEmulator | undefined;
  let mod: M | undefined;
  beforeAll(async () => {
    vault = await startVault();
    setHandlerEnv(vault);
    mod = await load();
  });
  afterAll(async () => {
    await vault?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('used before beforeAll started the Vault emulator');
    return value;
  };
  return {
    vault: () => started(vault),
    module: () => started(mod),
    deployment: async (extra) => {
      vi.resetModules();
      setHandlerEnv(started(vault), extra);
      return load();
    },
  };
}

type Handler<R> = (event: unknown) => Promise<R>;

/** useVaultAndModule for a Lambda handler module, with `handler` callable at once: every handler test file starts this way. */
export function useHandler<R>(load: () => Promise<{ handler: Handler<R> }>) {
  const file = useVaultAndModule(load);
  return {
    vault: file.vault,
    handler: (event: unknown): Promise<R> => file.module().handler(event),
    deployment: async (extra: Record<string, string>): Promise<Handler<R>> =>
      (await file.deployment(extra)).handler,
  };
}

/** Resets `mock` (and re-installs `defaults`) before each test, so no stub or recorded call leaks between tests. */
export function resetBeforeEach<M extends { reset(): unknown }>(mock: M, defaults?: (mock: M) => void): M {
  beforeEach(() => {
    mock.reset();
    defaults?.(mock);
  });
  return mock;
}

let counter = 0;
/** A user name (and so a Vault path) no other test in the file uses. */
export function uniqueUser(prefix = 'alice'): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function vaultPathOf(userName: string): string {
  return `aws/iam-users/${userName}`;
}

export function makeRequest(overrides: Partial<Request> = {}): Request {
  const userName = overrides.userName ?? 'alice';
  return {
    userName,
    vaultPath: vaultPathOf(userName),
    defaultVaultPath: vaultPathOf(userName),
    dryRun: false,
    graceSeconds: 900,
    recoverySeconds: 86_400,
    deleteInactiveKey: false,
    oldKeyInUse: 'wait',
    moveVaultPath: false,
    adoptVaultPath: false,
    inUseRecheckSeconds: 900,
    execution: EXECUTION,
    startedAt: STARTED_AT,
    ...overrides,
  };
}

/** IAM's unique id of a test user (GetUser's UserId), which signed tags name. */
export function userIdOf(userName: string): string {
  return `AIDA${createHash('sha256').update(userName).digest('hex').slice(0, 17).toUpperCase()}`;
}

export function userArn(userName: string): string {
  return `arn:aws:iam::123456789012:user/${userName}`;
}

export function makeCreated(userName: string, overrides: Partial<Created> = {}): Created {
  return {
    dryRun: false,
    userArn: userArn(userName),
    accessKeyId: 'AKIANEWKEY0000000001',
    createDate: '2024-05-01T12:00:02.000Z',
    sealedSecret: { ciphertext: Buffer.from('sealed').toString('base64') },
    oldAccessKeyIds: ['AKIAOLDKEY0000000001'],
    hasOldKeys: true,
    removedInactiveKeyIds: [],
    vaultBefore: { version: 1, accessKeyId: 'AKIAOLDKEY0000000001' },
    pinnedVaultPath: vaultPathOf(userName),
    userId: userIdOf(userName),
    ...overrides,
  };
}

/** An IAM key's metadata as ListAccessKeys returns it. */
export function keyMeta(accessKeyId: string, status: 'Active' | 'Inactive', createDate: string) {
  return { AccessKeyId: accessKeyId, Status: status, CreateDate: new Date(createDate), UserName: 'alice' };
}

/** A plain SDK-like error, as for un-modelled codes (Throttling, InvalidClientTokenId, ...). */
export function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} from the service`), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    ...extra,
  });
}

/** Mocks every KMSClient (call in the test file, before the handler module is imported). */
export const mockKms = () => mockClient(KMSClient);
export type KmsMock = ReturnType<typeof mockKms>;

/** Records every ciphertext's plaintext and context so Decrypt can refuse another context. */
export interface FakeKms {
  sealed: Map<string, { plaintext: string; context: Record<string, string> | undefined }>;
}

/**
 * Installs Encrypt/Decrypt behaviour on a mocked KMSClient: ciphertexts are random bytes, and
 * Decrypt fails with InvalidCiphertextException unless the context equals the one used to encrypt.
 * GenerateMac/VerifyMac behave as KMS's HMAC keys do (see fakeGenerateMac, fakeVerifyMac).
 */
export function installFakeKms(kms: KmsMock): FakeKms {
  const fake: FakeKms = { sealed: new Map() };
  kms.callsFake((input: Record<string, unknown>) => {
    if ('Plaintext' in input) {
      const blob = randomBytes(48);
      fake.sealed.set(blob.toString('base64'), {
        plaintext: Buffer.from(input.Plaintext as Uint8Array).toString('utf8'),
        context: input.EncryptionContext as Record<string, string> | undefined,
      });
      return Promise.resolve({ CiphertextBlob: new Uint8Array(blob), KeyId: KMS_KEY_ID });
    }
    const entry = fake.sealed.get(Buffer.from(input.CiphertextBlob as Uint8Array).toString('base64'));
    if (!entry || JSON.stringify(entry.context) !== JSON.stringify(input.EncryptionContext)) {
      return Promise.reject(
        new InvalidCiphertextException({ message: 'invalid ciphertext', $metadata: { httpStatusCode: 400 } }),
      );
    }
    return Promise.resolve({
      Plaintext: new Uint8Array(Buffer.from(entry.plaintext, 'utf8')),
      KeyId: KMS_KEY_ID,
    });
  });
  installFakeMac(kms);
  return fake;
}

/** A mocked KMSClient whose fake Encrypt/Decrypt starts afresh in each test; `fakeKms` stays the same object. */
export function useFakeKms(): { kms: KmsMock; fakeKms: FakeKms } {
  const kms = mockKms();
  const fakeKms: FakeKms = { sealed: new Map() };
  resetBeforeEach(kms, () => {
    fakeKms.sealed = installFakeKms(kms).sealed;
  });
  return { kms, fakeKms };
}

/** IAM's NoSuchEntity as the SDK throws it, wire Code included, for the not-found paths. */
export function noSuchEntity(message = 'cannot be found'): Error {
  return Object.assign(new NoSuchEntityException({ message, $metadata: { httpStatusCode: 404 } }), {
    Code: 'NoSuchEntity',
  });
}

/** Asserts `promise` rejects and returns the error, for checks on name and message. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`, { cause: error });
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** The names of the commands a mocked client received, in order (e.g. 'CreateAccessKeyCommand'). */
export function commandNames(client: { calls(): { args: unknown[] }[] }): string[] {
  return client.calls().map((call) => (call.args[0] as object).constructor.name);
}

/** IAM commands that change something; a dry run must send none of them. */
export const IAM_WRITES = [
  'CreateAccessKeyCommand',
  'DeleteAccessKeyCommand',
  'UpdateAccessKeyCommand',
  'TagUserCommand',
  'UntagUserCommand',
];

/** A ciphertext the fake KMS opens to `plaintext` under exactly the createKey context of `accessKeyId`. */
export function fakeSeal(
  fake: FakeKms,
  plaintext: string,
  context: {
    execution: string;
    userName: string;
    accessKeyId: string;
    purpose?: 'new-secret' | 'previous-secret';
  },
): string {
  const ciphertext = randomBytes(48).toString('base64');
  fake.sealed.set(ciphertext, {
    plaintext,
    context: {
      'iam-key-rotator:execution': context.execution,
      'iam-key-rotator:user': context.userName,
      'iam-key-rotator:access-key-id': context.accessKeyId,
      'iam-key-rotator:purpose': context.purpose ?? 'new-secret',
    },
  });
  return ciphertext;
}

/** storeInVault's result, as VerifyKey and DeactivateOld receive it. */
export function makeStored(overrides: Partial<Stored> = {}): Stored {
  return {
    version: 2,
    previousVersion: 1,
    alreadyStored: false,
    storedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** The HMAC keys the fake KMS knows: the handler environment's and the aws-auth environment's. */
const HMAC_KEY_IDS = new Set([PIN_KEY_ID, CLAIM_KEY_ID, 'alias/rotator-pin', 'alias/rotator-claim']);

const kmsError = <E extends Error>(
  Exception: new (opts: { message: string; $metadata: { httpStatusCode: number } }) => E,
  message: string,
): E => new Exception({ message, $metadata: { httpStatusCode: 400 } });

/** The fake KMS's MAC of `message` under the HMAC key `keyId`: HMAC-SHA-256 under a secret derived from the id. */
export function fakeMac(keyId: string, message: Uint8Array): Buffer {
  const secret = createHash('sha256').update(`fake-kms-hmac-key:${keyId}`).digest();
  return createHmac('sha256', secret).update(message).digest();
}

function checkMacKey(input: { KeyId?: string | undefined; MacAlgorithm?: string | undefined }): string {
  const keyId = input.KeyId ?? '';
  if (!HMAC_KEY_IDS.has(keyId)) {
    if (keyId === KMS_KEY_ID)
      throw kmsError(InvalidKeyUsageException, `${keyId} is not a GENERATE_VERIFY_MAC key`);
    throw kmsError(NotFoundException, `Key '${keyId}' does not exist`);
  }
  if (input.MacAlgorithm !== 'HMAC_SHA_256') {
    throw kmsError(InvalidKeyUsageException, `${String(input.MacAlgorithm)} is not valid for ${keyId}`);
  }
  return keyId;
}

/** GenerateMac/VerifyMac as KMS's HMAC keys answer them; after any catch-all callsFake, which would answer them too. */
export function installFakeMac(kms: KmsMock): void {
  kms.on(GenerateMacCommand).callsFake(fakeGenerateMac);
  kms.on(VerifyMacCommand).callsFake(fakeVerifyMac);
}

/** GenerateMac as KMS answers it, for the fake's HMAC keys. */
export function fakeGenerateMac(input: GenerateMacRequest) {
  try {
    const keyId = checkMacKey(input);
    const mac = fakeMac(keyId, input.Message ?? new Uint8Array());
    return Promise.resolve({ Mac: new Uint8Array(mac), MacAlgorithm: 'HMAC_SHA_256' as const, KeyId: keyId });
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** VerifyMac as KMS answers it: MacValid true, or KMSInvalidMacException when the MAC does not match. */
export function fakeVerifyMac(input: VerifyMacRequest) {
  try {
    const keyId = checkMacKey(input);
    const expected = fakeMac(keyId, input.Message ?? new Uint8Array());
    const given = Buffer.from(input.Mac ?? new Uint8Array());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw kmsError(KMSInvalidMacException, 'The MAC is not valid for the message');
    }
    return Promise.resolve({ KeyId: keyId, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' as const });
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** Whom a signed tag is about, as the tests sign it. */
export interface Signee {
  accountId: string;
  userId: string;
}

/** The MAC (base64) the rotator's key `keyId` makes of a tag's canonical message. */
export function tagMac(keyId: string, kind: 'pin' | 'claim', fields: readonly string[]): string {
  const message = Buffer.from(JSON.stringify([`iam-key-rotator/${kind}/v1`, ...fields]), 'utf8');
  return fakeMac(keyId, message).toString('base64');
}

const envKey = (name: string) => process.env[name] ?? '';

/** The pin tags the rotator writes for `path`, signed at `time` (as verifyKey writes them). */
export function signedPinTags(
  subject: Signee,
  path: string,
  time = new Date().toISOString(),
  keyId = envKey('ROTATOR_PIN_KEY_ID'),
): Record<string, string> {
  const mac = tagMac(keyId, 'pin', [subject.accountId, subject.userId, path, time]);
  return {
    'iam-key-rotator:vault-path': path.replaceAll(',', ':'),
    'iam-key-rotator:vault-path-mac': `v1 ${time} ${mac}`,
  };
}

/** The claim tags the rotator writes: owner, `<time> <keys...>` and the claim key's MAC over them. */
export function signedClaimTags(
  subject: Signee,
  owner: string,
  claimedAt: string,
  keys: readonly string[],
  keyId = envKey('ROTATOR_CLAIM_KEY_ID'),
): Record<string, string> {
  const claim = [claimedAt, ...keys].join(' ');
  const mac = tagMac(keyId, 'claim', [subject.accountId, subject.userId, owner, claim]);
  return {
    'iam-key-rotator:execution': owner,
    'iam-key-rotator:claim': claim,
    'iam-key-rotator:claim-mac': `v1 ${mac}`,
  };
}

/** The fleet's bucket and its key, as serverless.yml gives them to the fleet's functions. */
export const FLEET_BUCKET = 'iam-key-rotator-fleet-test';
export const FLEET_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/00fleet0-12ab-34cd-56ef-1234567890ab';
export const FLEET_BUCKET_ENV = {
  ROTATOR_FLEET_BUCKET: FLEET_BUCKET,
  ROTATOR_FLEET_BUCKET_KEY_ID: FLEET_KEY_ARN,
};

/** The fleet's bucket as a mocked S3Client keeps it: each object's text and the PutObject that wrote it. */
export interface FakeBucket {
  objects: Map<string, { body: string; put: PutObjectCommandInput }>;
  /** The object's text; throws when there is none. */
  text(key: string): string;
  json<T>(key: string): T;
  jsonLines<T>(key: string): T[];
  /** Stores an object as if it had been written (what another step or Step Functions wrote). */
  seed(key: string, value: unknown): void;
}

const mockS3 = () => mockClient(S3Client);

/** Mocks every S3Client with one bucket (FLEET_BUCKET) that starts empty in each test. */
export function useFakeS3(): { s3: ReturnType<typeof mockS3>; bucket: FakeBucket } {
  const s3 = mockS3();
  const objects = new Map<string, { body: string; put: PutObjectCommandInput }>();
  const text = (key: string) => {
    const object = objects.get(key);
    if (!object) throw new Error(`no object ${key} in the fake bucket`);
    return object.body;
  };
  const bucket: FakeBucket = {
    objects,
    text,
    json: <T>(key: string) => JSON.parse(text(key)) as T,
    jsonLines: <T>(key: string) =>
      text(key)
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as T),
    seed: (key, value) => {
      const body = typeof value === 'string' ? value : JSON.stringify(value);
      objects.set(key, { body, put: { Bucket: FLEET_BUCKET, Key: key } });
    },
  };
  resetBeforeEach(s3, (mock) => {
    objects.clear();
    mock.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
      if (input.Bucket !== FLEET_BUCKET) return Promise.reject(sdkError('NoSuchBucket', 404));
      objects.set(input.Key ?? '', { body: String(input.Body), put: input });
      return Promise.resolve({ ETag: '"etag"' });
    });
    mock.on(GetObjectCommand).callsFake((input: { Bucket?: string; Key?: string }) => {
      const object = input.Bucket === FLEET_BUCKET ? objects.get(input.Key ?? '') : undefined;
      if (!object) {
        return Promise.reject(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
      }
      return Promise.resolve({ Body: { transformToString: () => Promise.resolve(object.body) } });
    });
  });
  return { s3, bucket };
}

/**
 * The embedded-metric-format lines (functions/commons/metrics.ts) written to stdout while `run`
 * runs at the log level given (the handler environment's SILENT writes none); other lines are left out.
 */
export async function publishedMetrics(
  level: string,
  run: () => Promise<unknown>,
): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const before = { level: process.env.POWERTOOLS_LOG_LEVEL, dev: process.env.POWERTOOLS_DEV };
  process.env.POWERTOOLS_LOG_LEVEL = level;
  delete process.env.POWERTOOLS_DEV;
  try {
    await run();
  } finally {
    spy.mockRestore();
    process.env.POWERTOOLS_LOG_LEVEL = before.level ?? 'SILENT';
    if (before.dev !== undefined) process.env.POWERTOOLS_DEV = before.dev;
  }
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => '_aws' in line);
}
