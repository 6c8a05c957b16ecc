import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { clients, failure, roleSession, uniqueName, useEmulator } from './helpers.js';

const MEMBER = '210987654321';
const emulator = useEmulator({ memberAccountIds: [MEMBER] });

afterEach(() => emulator().traffic.clearFaults());

const admin = () => clients(emulator()).s3;

async function newBucket(): Promise<string> {
  const Bucket = uniqueName('bkt').toLowerCase();
  await admin().send(new CreateBucketCommand({ Bucket }));
  return Bucket;
}

describe("S3 calls evaluated against the caller's identity policy", () => {
  it('refuses PutObject to a role without s3:PutObject, naming the action and the object', async () => {
    const Bucket = await newBucket();
    await admin().send(new PutObjectCommand({ Bucket, Key: 'in/a.jsonl', Body: '{}\n' }));
    const { credentials } = await roleSession(emulator(), [
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' },
    ]);
    const { s3 } = clients(emulator(), credentials);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'in/a.jsonl' }));
    expect(await got.Body?.transformToString()).toBe('{}\n');
    const denied = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'out/b.json', Body: '{}' })));
    expect([denied.name, denied.$metadata?.httpStatusCode]).toEqual(['AccessDenied', 403]);
    expect(denied.message).toContain(
      `is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${Bucket}/out/b.json" because no identity-based policy allows the s3:PutObject action`,
    );
    expect(emulator().denials().at(-1)).toMatchObject({
      action: 's3:PutObject',
      resource: `arn:aws:s3:::${Bucket}/out/b.json`,
    });
  });

  it('evaluates s3:prefix on ListObjectsV2 and aws:SecureTransport (false on loopback http)', async () => {
    const Bucket = await newBucket();
    const { credentials } = await roleSession(emulator(), [
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: `arn:aws:s3:::${Bucket}`,
        Condition: { StringLike: { 's3:prefix': 'due/*' } },
      },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${Bucket}/*` },
      {
        Effect: 'Deny',
        Action: 's3:PutObject',
        Resource: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
    const { s3 } = clients(emulator(), credentials);
    await expect(s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'due/' }))).resolves.toMatchObject({
      KeyCount: 0,
    });
    const outside = await failure(s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'results/' })));
    expect(outside.message).toContain('s3:ListBucket');
    const insecure = await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'due/x', Body: 'x' })));
    expect(insecure.message).toContain('with an explicit deny in an identity-based policy');
  });

  it("keeps buckets per account: another account's bucket is AccessDenied, and its name taken", async () => {
    const Bucket = await newBucket();
    const member = clients(emulator(), emulator().account(MEMBER).adminCredentials).s3;
    const read = await failure(member.send(new ListObjectsV2Command({ Bucket })));
    expect([read.name, read.$metadata?.httpStatusCode]).toEqual(['AccessDenied', 403]);
    const taken = await failure(member.send(new CreateBucketCommand({ Bucket })));
    expect([taken.name, taken.$metadata?.httpStatusCode]).toEqual(['BucketAlreadyExists', 409]);
  });
});

describe('S3 authentication', () => {
  it('answers SignatureDoesNotMatch (403) to a wrong secret and InvalidAccessKeyId to an unknown key', async () => {
    const { accessKeyId } = emulator().adminCredentials;
    const wrong = new S3Client({
      endpoint: emulator().endpoint,
      region: emulator().region,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId, secretAccessKey: 'not the secret' },
    });
    const error = await failure(wrong.send(new ListObjectsV2Command({ Bucket: 'any-bucket' })));
    expect([error.name, error.$metadata?.httpStatusCode]).toEqual(['SignatureDoesNotMatch', 403]);
    const unknown = clients(emulator(), { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' }).s3;
    const missing = await failure(unknown.send(new ListObjectsV2Command({ Bucket: 'any-bucket' })));
    expect([missing.name, missing.$metadata?.httpStatusCode]).toEqual(['InvalidAccessKeyId', 403]);
  });

  it('accepts an UNSIGNED-PAYLOAD PutObject and refuses a body that is not the signed hash', async () => {
    const Bucket = await newBucket();
    const url = new URL(`${emulator().endpoint}/${Bucket}/raw.json`);
    const signer = new SignatureV4({
      credentials: emulator().adminCredentials,
      region: emulator().region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const send = async (hash: string, body: string) => {
      const signed = await signer.sign({
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers: { host: url.host, 'x-amz-content-sha256': hash },
        body,
      });
      return fetch(url, { method: 'PUT', headers: signed.headers, body });
    };
    expect((await send('UNSIGNED-PAYLOAD', '{"a":1}')).status).toBe(200);
    const got = await admin().send(new GetObjectCommand({ Bucket, Key: 'raw.json' }));
    expect(await got.Body?.transformToString()).toBe('{"a":1}');
    const mismatch = await send('0'.repeat(64), '{"a":1}');
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
  });
});

describe('S3 faults, traffic and the admin API', () => {
  it('injects s3:PutObject faults with S3 codes and counts the calls', async () => {
    const Bucket = await newBucket();
    emulator().traffic.resetCalls();
    emulator().traffic.addFault('s3:PutObject:503');
    const slow = await failure(admin().send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' })));
    expect([slow.name, slow.$metadata?.httpStatusCode]).toEqual(['SlowDown', 503]);
    emulator().traffic.addFault('s3:GetObject:InternalError');
    const internal = await failure(admin().send(new GetObjectCommand({ Bucket, Key: 'k' })));
    expect([internal.name, internal.$metadata?.httpStatusCode]).toEqual(['InternalError', 500]);
    // after-commit: the object is stored, the answer lost.
    emulator().traffic.addFault('s3:PutObject:after-commit');
    await failure(admin().send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'kept' })));
    const kept = await admin().send(new GetObjectCommand({ Bucket, Key: 'k' }));
    expect(await kept.Body?.transformToString()).toBe('kept');
    expect(emulator().traffic.calls()).toMatchObject({ 's3:PutObject': 2, 's3:GetObject': 2 });
  });

  it("lists a bucket's objects (keys, sizes, ETags; no bodies) on the admin API", async () => {
    const Bucket = await newBucket();
    await admin().send(new PutObjectCommand({ Bucket, Key: 'b', Body: 'bb' }));
    await admin().send(new PutObjectCommand({ Bucket, Key: 'a', Body: 'a' }));
    const response = await fetch(`${emulator().endpoint}/__admin/s3/buckets/${Bucket}/objects`);
    const listed = (await response.json()) as { objects: { key: string; size: number; etag: string }[] };
    expect(listed.objects.map(({ key, size }) => [key, size])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(Object.keys(listed.objects[0] ?? {})).not.toContain('body');
    const missing = await fetch(`${emulator().endpoint}/__admin/s3/buckets/no-such-bucket/objects`);
    expect(missing.status).toBe(404);
  });
});
