import { conditionKeys, type Access } from '../access.js';
import type { S3Action, S3Request } from './request.js';
import { header } from './request.js';

/** The IAM action each operation needs: HeadBucket and ListObjectsV2 both need s3:ListBucket. */
const ACTIONS: Readonly<Record<S3Action, string>> = {
  CreateBucket: 's3:CreateBucket',
  HeadBucket: 's3:ListBucket',
  DeleteBucket: 's3:DeleteBucket',
  ListObjectsV2: 's3:ListBucket',
  PutObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
};

/** The condition keys of each operation, besides aws:SecureTransport. */
function operationKeys(request: S3Request): Record<string, string | undefined> {
  const query = (name: string) => request.query.get(name) ?? undefined;
  if (request.action === 'ListObjectsV2') {
    return {
      's3:prefix': query('prefix'),
      's3:delimiter': query('delimiter'),
      's3:max-keys': query('max-keys'),
    };
  }
  if (request.action === 'PutObject') {
    return {
      's3:x-amz-server-side-encryption': header(request, 'x-amz-server-side-encryption'),
      's3:x-amz-server-side-encryption-aws-kms-key-id': header(
        request,
        'x-amz-server-side-encryption-aws-kms-key-id',
      ),
    };
  }
  return {};
}

/**
 * What IAM must allow for an S3 call: the action on the bucket (`arn:aws:s3:::bucket`) or the
 * object (`arn:aws:s3:::bucket/key`). The emulator serves plain http, so aws:SecureTransport is false.
 */
export function s3Access(request: S3Request): Access[] {
  const resource =
    request.key === undefined
      ? `arn:aws:s3:::${request.bucket}`
      : `arn:aws:s3:::${request.bucket}/${request.key}`;
  return [
    {
      action: ACTIONS[request.action],
      resource,
      // S3's AccessDenied message quotes the resource.
      shown: `"${resource}"`,
      context: conditionKeys({ 'aws:SecureTransport': 'false', ...operationKeys(request) }),
    },
  ];
}
