import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();
const otherRegion = useEmulator({ region: 'eu-west-1' });

const s3 = (): S3Client => clients(emulator()).s3;
const bucketName = (): string => uniqueName('bkt').toLowerCase();

async function newBucket(client = s3()): Promise<string> {
  const Bucket = bucketName();
  await client.send(new CreateBucketCommand({ Bucket }));
  return Bucket;
}

const text = async (body: { transformToString(): Promise<string> } | undefined): Promise<string> =>
  (await body?.transformToString()) ?? '';

describe('S3 buckets over REST-XML', () => {
  it('creates, heads and deletes an empty bucket; then it is NoSuchBucket', async () => {
    const Bucket = bucketName();
    const created = await s3().send(new CreateBucketCommand({ Bucket }));
    expect(created.Location).toBe(`/${Bucket}`);
    const head = await s3().send(new HeadBucketCommand({ Bucket }));
    expect(head.BucketRegion).toBe('us-east-1');
    // us-east-1's legacy answer to re-creating your own bucket is 200.
    await expect(s3().send(new CreateBucketCommand({ Bucket }))).resolves.toBeDefined();
    await s3().send(new DeleteBucketCommand({ Bucket }));
    const gone = await failure(s3().send(new HeadBucketCommand({ Bucket })));
    expect([gone.name, gone.$metadata?.httpStatusCode]).toEqual(['NotFound', 404]);
    const listed = await failure(s3().send(new ListObjectsV2Command({ Bucket })));
    expect([listed.name, listed.$metadata?.httpStatusCode]).toEqual(['NoSuchBucket', 404]);
  });

  it('answers BucketAlreadyOwnedByYou (409) outside us-east-1, BucketNotEmpty (409), InvalidBucketName', async () => {
    const client = clients(otherRegion()).s3;
    const Bucket = bucketName();
    const CreateBucketConfiguration = { LocationConstraint: 'eu-west-1' as const };
    await client.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration }));
    const again = await failure(client.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration })));
    expect([again.name, again.$metadata?.httpStatusCode]).toEqual(['BucketAlreadyOwnedByYou', 409]);
    await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
    const notEmpty = await failure(client.send(new DeleteBucketCommand({ Bucket })));
    expect([notEmpty.name, notEmpty.$metadata?.httpStatusCode]).toEqual(['BucketNotEmpty', 409]);
    const invalid = await failure(s3().send(new CreateBucketCommand({ Bucket: 'No_Such' })));
    expect([invalid.name, invalid.$metadata?.httpStatusCode]).toEqual(['InvalidBucketName', 400]);
  });
});

describe('S3 objects', () => {
  it('puts, gets (whole and a range), heads and deletes an object', async () => {
    const Bucket = await newBucket();
    const Key = 'dir/with space+plus/é.txt';
    const put = await s3().send(
      new PutObjectCommand({
        Bucket,
        Key,
        Body: 'hello world',
        ContentType: 'text/plain',
        Metadata: { run: '7' },
      }),
    );
    expect(put.ETag).toBe(`"${createHash('md5').update('hello world').digest('hex')}"`);
    const got = await s3().send(new GetObjectCommand({ Bucket, Key }));
    expect(await text(got.Body)).toBe('hello world');
    expect(got).toMatchObject({
      ContentType: 'text/plain',
      ContentLength: 11,
      ETag: put.ETag,
      Metadata: { run: '7' },
    });
    const part = await s3().send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=6-' }));
    expect(await text(part.Body)).toBe('world');
    expect([part.$metadata.httpStatusCode, part.ContentRange]).toEqual([206, 'bytes 6-10/11']);
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key }));
    expect([head.ContentLength, head.ETag, head.LastModified instanceof Date]).toEqual([11, put.ETag, true]);
    await s3().send(new DeleteObjectCommand({ Bucket, Key }));
    const missing = await failure(s3().send(new GetObjectCommand({ Bucket, Key })));
    expect([missing.name, missing.$metadata?.httpStatusCode]).toEqual(['NoSuchKey', 404]);
    const headMissing = await failure(s3().send(new HeadObjectCommand({ Bucket, Key })));
    expect([headMissing.name, headMissing.$metadata?.httpStatusCode]).toEqual(['NotFound', 404]);
    // S3 deletes idempotently.
    await expect(s3().send(new DeleteObjectCommand({ Bucket, Key }))).resolves.toBeDefined();
  });

  it('keeps `.` and `..` segments of a key as S3 does: no path normalization (a fleet run named `..`)', async () => {
    const Bucket = await newBucket();
    const keys = ['runs/../due/111111111111.jsonl', 'runs/./summary.json', 'runs/a//b'];
    for (const Key of keys) await s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const listed = await s3().send(new ListObjectsV2Command({ Bucket }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([...keys].sort());
    for (const Key of keys)
      expect(await text((await s3().send(new GetObjectCommand({ Bucket, Key }))).Body)).toBe(Key);
    const normalized = await failure(
      s3().send(new GetObjectCommand({ Bucket, Key: 'due/111111111111.jsonl' })),
    );
    expect(normalized.name).toBe('NoSuchKey');
  });

  it('round-trips a 1 MiB JSON Lines object, as a string and as an aws-chunked stream', async () => {
    const Bucket = await newBucket();
    const lines: string[] = [];
    for (let size = 0; size < 1024 * 1024; size += (lines.at(-1)?.length ?? 0) + 1) {
      lines.push(JSON.stringify({ accountId: '123456789012', userName: `user-${lines.length}`, due: true }));
    }
    const body = `${lines.join('\n')}\n`;
    await s3().send(new PutObjectCommand({ Bucket, Key: 'due/a.jsonl', Body: body }));
    const stream = Readable.from([Buffer.from(body.slice(0, 500_000)), Buffer.from(body.slice(500_000))]);
    await s3().send(
      new PutObjectCommand({
        Bucket,
        Key: 'due/b.jsonl',
        Body: stream,
        ContentLength: Buffer.byteLength(body),
      }),
    );
    for (const Key of ['due/a.jsonl', 'due/b.jsonl']) {
      const got = await s3().send(new GetObjectCommand({ Bucket, Key }));
      const read = (await text(got.Body)).trimEnd().split('\n');
      expect(read.length).toBe(lines.length);
      expect(JSON.parse(read.at(-1) ?? '')).toEqual(JSON.parse(lines.at(-1) ?? ''));
      expect(got.ContentLength).toBe(Buffer.byteLength(body));
    }
  });

  it('accepts SSE-KMS and echoes the key on put, head and get; AES256 by default', async () => {
    const Bucket = await newBucket();
    const { KeyMetadata } = await clients(emulator()).kms.send(new CreateKeyCommand({}));
    const sse = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KeyMetadata?.Arn };
    const put = await s3().send(new PutObjectCommand({ Bucket, Key: 'sealed', Body: '{}', ...sse }));
    expect(put).toMatchObject(sse);
    expect(await s3().send(new HeadObjectCommand({ Bucket, Key: 'sealed' }))).toMatchObject(sse);
    expect(await s3().send(new GetObjectCommand({ Bucket, Key: 'sealed' }))).toMatchObject(sse);
    const managed = await s3().send(
      new PutObjectCommand({ Bucket, Key: 'managed', Body: '{}', ServerSideEncryption: 'aws:kms' }),
    );
    expect(managed.SSEKMSKeyId).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    const plain = await s3().send(new PutObjectCommand({ Bucket, Key: 'plain', Body: '{}' }));
    expect([plain.ServerSideEncryption, plain.SSEKMSKeyId]).toEqual(['AES256', undefined]);
  });
});

describe('ListObjectsV2', () => {
  it('pages more than 1,000 keys with ContinuationToken (MaxKeys 1000 by default)', async () => {
    const Bucket = await newBucket();
    const keys = Array.from({ length: 1105 }, (_, i) => `items/${String(i).padStart(5, '0')}.json`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys.slice(i, i + 50).map((Key) => s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }))),
      );
    }
    await s3().send(new PutObjectCommand({ Bucket, Key: 'other/x', Body: 'x' }));
    const first = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'items/' }));
    expect([first.KeyCount, first.MaxKeys, first.IsTruncated]).toEqual([1000, 1000, true]);
    const second = await s3().send(
      new ListObjectsV2Command({ Bucket, Prefix: 'items/', ContinuationToken: first.NextContinuationToken }),
    );
    expect([second.KeyCount, second.IsTruncated, second.NextContinuationToken]).toEqual([
      105,
      false,
      undefined,
    ]);
    const listed = [...(first.Contents ?? []), ...(second.Contents ?? [])].map((c) => c.Key);
    expect(listed).toEqual(keys);
    expect(first.Contents?.[0]).toMatchObject({ Size: keys[0]?.length, StorageClass: 'STANDARD' });

    const small = await s3().send(
      new ListObjectsV2Command({ Bucket, Prefix: 'items/', StartAfter: 'items/01100.json', MaxKeys: 2 }),
    );
    expect(small.Contents?.map((c) => c.Key)).toEqual(['items/01101.json', 'items/01102.json']);
    expect([small.IsTruncated, small.StartAfter]).toEqual([true, 'items/01100.json']);
    const bad = await failure(
      s3().send(new ListObjectsV2Command({ Bucket, ContinuationToken: 'nonsense!' })),
    );
    expect([bad.name, bad.$metadata?.httpStatusCode]).toEqual(['InvalidArgument', 400]);
  });
});
