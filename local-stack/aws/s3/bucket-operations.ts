import type { CallContext } from '../context.js';
import type { Reply } from '../protocol.js';
import { bucketOwner, checkBucketName, ownBucket } from './buckets.js';
import { S3Error } from './errors.js';
import { listObjectsV2 } from './listing.js';
import type { S3Request } from './request.js';
import { s3Headers, s3XmlReply } from './xml.js';

/** us-east-1 is the one region whose CreateBucket takes no LocationConstraint. */
const DEFAULT_REGION = 'us-east-1';

function checkLocation(body: Buffer, region: string): void {
  const text = body.toString('utf8');
  const constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(text)?.[1];
  const expected = region === DEFAULT_REGION ? undefined : region;
  if ((constraint || undefined) !== expected) {
    throw new S3Error(
      'IllegalLocationConstraintException',
      `The ${constraint || 'unspecified'} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    );
  }
}

export function createBucket(request: S3Request, ctx: CallContext, requestId: string): Reply {
  const { bucket: name } = request;
  checkBucketName(name);
  checkLocation(request.body, ctx.state.region);
  const owner = bucketOwner(ctx.accounts, name);
  const created = { status: 200, headers: { ...s3Headers(requestId), location: `/${name}` }, body: '' };
  if (owner === ctx.state) {
    // AWS's legacy behaviour: in us-east-1, creating a bucket you already own succeeds.
    if (ctx.state.region === DEFAULT_REGION) return created;
    throw new S3Error(
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      409,
      { BucketName: name },
    );
  }
  if (owner) {
    throw new S3Error(
      'BucketAlreadyExists',
      'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
      409,
      { BucketName: name },
    );
  }
  ctx.state.buckets.set(name, { name, createDate: new Date(), objects: new Map() });
  return created;
}

export function headBucket(request: S3Request, ctx: CallContext, requestId: string): Reply {
  ownBucket(ctx.accounts, ctx.state, request.bucket);
  return {
    status: 200,
    headers: { ...s3Headers(requestId), 'x-amz-bucket-region': ctx.state.region },
    body: '',
  };
}

export function deleteBucket(request: S3Request, ctx: CallContext, requestId: string): Reply {
  const bucket = ownBucket(ctx.accounts, ctx.state, request.bucket);
  if (bucket.objects.size > 0) {
    throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, {
      BucketName: bucket.name,
    });
  }
  ctx.state.buckets.delete(bucket.name);
  return { status: 204, headers: s3Headers(requestId), body: '' };
}

export function listObjects(request: S3Request, ctx: CallContext, requestId: string): Reply {
  const bucket = ownBucket(ctx.accounts, ctx.state, request.bucket);
  return s3XmlReply('ListBucketResult', listObjectsV2(bucket, request.query), requestId);
}
