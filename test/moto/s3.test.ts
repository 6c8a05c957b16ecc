import { Readable } from 'node:stream';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../local-stack/aws/index.js';
import { findMotoServer, startMoto, type MotoServer } from '../../local-stack/moto.js';

const MOTO_SERVER = findMotoServer();
const SKIPPED = 'S3 moto cross-check skipped: moto_server is not on the PATH (pip install "moto[server]")';

interface Endpoint {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** What a call did, comparable across emulators: the status and error name, or the fields asked for. */
async function outcome(promise: Promise<object>, fields: string[] = []): Promise<unknown> {
  try {
    const result = (await promise) as Record<string, unknown> & { $metadata: { httpStatusCode?: number } };
    const picked: Record<string, unknown> = { status: result.$metadata.httpStatusCode };
    for (const field of fields) {
      const value = result[field];
      picked[field] =
        field === 'Body'
          ? await (value as { transformToString(): Promise<string> }).transformToString()
          : field === 'Contents'
            ? (value as { Key?: string }[] | undefined)?.map((c) => c.Key)
            : value;
    }
    return picked;
  } catch (error) {
    const failed = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { status: failed.$metadata?.httpStatusCode, error: failed.name };
  }
}

/** The same requests, in order, on one endpoint; the results are compared between moto and ours. */
async function script({ endpoint, credentials }: Endpoint): Promise<Record<string, unknown>> {
  const config = { endpoint, credentials, region: 'us-east-1', maxAttempts: 1 };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const { KeyMetadata } = await new KMSClient(config).send(new CreateKeyCommand({}));
  const Bucket = 'cross-check-bucket';
  const sse = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KeyMetadata?.Arn ?? '' };
  const results: Record<string, unknown> = {};
  const run = async (name: string, promise: Promise<object>, fields?: string[]) => {
    results[name] = await outcome(promise, fields);
  };
  await run('CreateBucket', s3.send(new CreateBucketCommand({ Bucket })));
  await run('HeadBucket', s3.send(new HeadBucketCommand({ Bucket })));
  await run('HeadBucket missing', s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' })));
  await run('List missing bucket', s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-here' })));
  await run('PutObject', s3.send(new PutObjectCommand({ Bucket, Key: 'a/1.jsonl', Body: '{"n":1}\n' })), [
    'ETag',
  ]);
  await run('PutObject SSE-KMS', s3.send(new PutObjectCommand({ Bucket, Key: 'a/2', Body: 'x', ...sse })), [
    'ETag',
    'ServerSideEncryption',
    'SSEKMSKeyId',
  ]);
  const stream = Readable.from([Buffer.from('str'), Buffer.from('eamed')]);
  await run(
    'PutObject stream',
    s3.send(new PutObjectCommand({ Bucket, Key: 'b', Body: stream, ContentLength: 8 })),
  );
  await run('GetObject', s3.send(new GetObjectCommand({ Bucket, Key: 'a/1.jsonl' })), [
    'Body',
    'ETag',
    'ContentLength',
  ]);
  await run('GetObject stream', s3.send(new GetObjectCommand({ Bucket, Key: 'b' })), ['Body']);
  await run('GetObject range', s3.send(new GetObjectCommand({ Bucket, Key: 'b', Range: 'bytes=1-3' })), [
    'Body',
    'ContentRange',
  ]);
  await run('HeadObject SSE-KMS', s3.send(new HeadObjectCommand({ Bucket, Key: 'a/2' })), ['SSEKMSKeyId']);
  await run('HeadObject missing', s3.send(new HeadObjectCommand({ Bucket, Key: 'none' })));
  await run('GetObject missing', s3.send(new GetObjectCommand({ Bucket, Key: 'none' })));
  const page = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 2 }));
  results['List page 1'] = { keys: page.Contents?.map((c) => c.Key), truncated: page.IsTruncated };
  await run(
    'List page 2',
    s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 2, ContinuationToken: page.NextContinuationToken })),
    ['Contents', 'IsTruncated', 'KeyCount'],
  );
  await run(
    'List prefix',
    s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'a/', StartAfter: 'a/1.jsonl' })),
    ['Contents', 'KeyCount'],
  );
  await run('DeleteBucket not empty', s3.send(new DeleteBucketCommand({ Bucket })));
  for (const Key of ['a/1.jsonl', 'a/2', 'b']) await s3.send(new DeleteObjectCommand({ Bucket, Key }));
  await run('DeleteObject missing', s3.send(new DeleteObjectCommand({ Bucket, Key: 'b' })));
  await run('DeleteBucket', s3.send(new DeleteBucketCommand({ Bucket })));
  return results;
}

describe.skipIf(!MOTO_SERVER)(
  MOTO_SERVER ? `S3 on moto_server (${MOTO_SERVER}) and on ours` : SKIPPED,
  () => {
    let moto: MotoServer | undefined;
    let ours: AwsEmulator | undefined;
    beforeAll(async () => {
      [moto, ours] = await Promise.all([startMoto(MOTO_SERVER ?? 'moto_server'), startAwsEmulator()]);
    });
    afterAll(async () => {
      await Promise.all([moto?.close(), ours?.close()]);
    });

    it('answers the same S3 requests with the same statuses, errors and fields', async () => {
      if (!moto || !ours) throw new Error('the emulators did not start');
      const motoCredentials = {
        accessKeyId: 'AKIAMOTOCROSSCHECK00',
        secretAccessKey: 'moto'.padEnd(40, '0'),
      };
      const [onMoto, onOurs] = await Promise.all([
        script({ endpoint: moto.endpoint, credentials: motoCredentials }),
        script({ endpoint: ours.endpoint, credentials: ours.adminCredentials }),
      ]);
      // KMS key ARNs differ by their random ids: compare their shape, then the rest exactly.
      for (const results of [onMoto, onOurs]) {
        for (const value of Object.values(results)) {
          const fields = value as { SSEKMSKeyId?: string };
          if (fields.SSEKMSKeyId)
            fields.SSEKMSKeyId = fields.SSEKMSKeyId.replace(/key\/[0-9a-f-]+$/, 'key/<id>');
        }
      }
      expect(onOurs).toEqual(onMoto);
    });
  },
);
