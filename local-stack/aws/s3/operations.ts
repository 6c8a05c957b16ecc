import type { CallContext } from '../context.js';
import type { Reply } from '../protocol.js';
import { createBucket, deleteBucket, headBucket, listObjects } from './bucket-operations.js';
import { deleteObject, getObject, headObject, putObject } from './objects.js';
import type { S3Action, S3Request } from './request.js';

export type S3Handler = (request: S3Request, ctx: CallContext, requestId: string) => Reply;

export const s3Actions: Readonly<Record<S3Action, S3Handler>> = {
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  ListObjectsV2: listObjects,
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
};
