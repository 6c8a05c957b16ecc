import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { CallContext } from '../context.js';
import { AwsServiceError } from '../errors.js';
import { awsManagedKey, resolveKey } from '../kms-keys.js';
import type { Reply } from '../protocol.js';
import { ownBucket, type S3Object } from './buckets.js';
import { invalidArgument, noSuchKey, S3Error } from './errors.js';
import { readPayload } from './payload.js';
import { header, type S3Request } from './request.js';
import { s3Headers } from './xml.js';

const MAX_KEY_BYTES = 1024;
const ENCRYPTIONS = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);

/** The KMS key an aws:kms object is sealed with, as the ARN S3 reports (alias/aws/s3 when none is named). */
function kmsKeyArn(ctx: CallContext, reference: string | undefined): string {
  if (reference === undefined) {
    return awsManagedKey(ctx.state, 'alias/aws/s3', 'Default key that protects my S3 objects').arn;
  }
  // Another account's key is taken as named: the emulator does not model KMS grants across accounts.
  if (reference.startsWith('arn:') && !reference.includes(`:${ctx.state.accountId}:`)) return reference;
  try {
    return resolveKey(ctx.state, reference).arn;
  } catch (error) {
    if (error instanceof AwsServiceError) {
      throw new S3Error('KMS.NotFoundException', `Invalid keyId '${reference}'`, 400);
    }
    throw error;
  }
}

function encryption(
  request: S3Request,
  ctx: CallContext,
): Pick<S3Object, 'serverSideEncryption' | 'kmsKeyId'> {
  const sse = header(request, 'x-amz-server-side-encryption') ?? 'AES256';
  const keyId = header(request, 'x-amz-server-side-encryption-aws-kms-key-id');
  if (!ENCRYPTIONS.has(sse)) {
    throw invalidArgument(
      'The encryption method specified is not supported',
      'x-amz-server-side-encryption',
      sse,
    );
  }
  if (sse === 'AES256') {
    if (keyId !== undefined) {
      throw invalidArgument(
        'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id',
        keyId,
      );
    }
    return { serverSideEncryption: sse };
  }
  return { serverSideEncryption: sse, kmsKeyId: kmsKeyArn(ctx, keyId) };
}

const encryptionHeaders = (object: S3Object): OutgoingHttpHeaders => ({
  'x-amz-server-side-encryption': object.serverSideEncryption,
  ...(object.kmsKeyId === undefined
    ? {}
    : { 'x-amz-server-side-encryption-aws-kms-key-id': object.kmsKeyId }),
});

function objectKey(request: S3Request): string {
  const key = request.key ?? '';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', 'Your key is too long', 400, { Key: key });
  }
  return key;
}

export function putObject(request: S3Request, ctx: CallContext, requestId: string): Reply {
  const bucket = ownBucket(ctx.accounts, ctx.state, request.bucket);
  const key = objectKey(request);
  const { body, checksum } = readPayload(request.headers, request.body);
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') {
      metadata[name.slice('x-amz-meta-'.length)] = value;
    }
  }
  const object: S3Object = {
    key,
    body,
    etag: `"${createHash('md5').update(body).digest('hex')}"`,
    // Whole seconds: S3's Last-Modified header cannot say more, and its listings say .000Z.
    lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
    contentType: header(request, 'content-type') ?? 'binary/octet-stream',
    ...encryption(request, ctx),
    ...(checksum ? { checksum } : {}),
    metadata,
  };
  bucket.objects.set(key, object);
  return {
    status: 200,
    headers: {
      ...s3Headers(requestId),
      etag: object.etag,
      ...encryptionHeaders(object),
      ...(checksum ? { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value } : {}),
    },
    body: '',
  };
}

function storedObject(request: S3Request, ctx: CallContext): S3Object {
  const bucket = ownBucket(ctx.accounts, ctx.state, request.bucket);
  const key = objectKey(request);
  const object = bucket.objects.get(key);
  if (!object) throw noSuchKey(key);
  return object;
}

/** The byte range a `Range: bytes=…` header asks for; S3 ignores a header it cannot parse. */
function byteRange(request: S3Request, size: number): [number, number] | undefined {
  const range = header(request, 'range');
  const match = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, first = '', last = ''] = match;
  const start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  const end = first === '' || last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || start > end || (first === '' && Number(last) === 0)) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, {
      RangeRequested: range ?? '',
      ActualObjectSize: String(size),
    });
  }
  return [start, end];
}

/** GetObject and HeadObject: the same headers; HEAD sends the length without the body. */
function objectReply(request: S3Request, ctx: CallContext, requestId: string, head: boolean): Reply {
  const object = storedObject(request, ctx);
  const size = object.body.length;
  const range = byteRange(request, size);
  const body = range ? object.body.subarray(range[0], range[1] + 1) : object.body;
  const checksumWanted = header(request, 'x-amz-checksum-mode') === 'ENABLED' && !range;
  return {
    status: range ? 206 : 200,
    headers: {
      ...s3Headers(requestId),
      'content-type': object.contentType,
      'content-length': body.length,
      etag: object.etag,
      'last-modified': object.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      ...encryptionHeaders(object),
      ...(range ? { 'content-range': `bytes ${range[0]}-${range[1]}/${size}` } : {}),
      ...(checksumWanted && object.checksum
        ? { [`x-amz-checksum-${object.checksum.algorithm}`]: object.checksum.value }
        : {}),
      ...Object.fromEntries(Object.entries(object.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
    },
    body: head ? '' : body,
  };
}

export const getObject = (request: S3Request, ctx: CallContext, requestId: string): Reply =>
  objectReply(request, ctx, requestId, false);

export const headObject = (request: S3Request, ctx: CallContext, requestId: string): Reply =>
  objectReply(request, ctx, requestId, true);

/** S3 answers 204 whether or not the key existed. */
export function deleteObject(request: S3Request, ctx: CallContext, requestId: string): Reply {
  const bucket = ownBucket(ctx.accounts, ctx.state, request.bucket);
  bucket.objects.delete(objectKey(request));
  return { status: 204, headers: s3Headers(requestId), body: '' };
}
