import type { AwsAccounts } from '../accounts.js';
import type { AwsState } from '../state.js';
import { accessDenied, noSuchBucket, S3Error } from './errors.js';
import type { Checksum } from './payload.js';

export interface S3Object {
  key: string;
  body: Buffer;
  /** The quoted hex MD5 of the body, as S3 sends it for a single-part upload. */
  etag: string;
  lastModified: Date;
  contentType: string;
  /** x-amz-server-side-encryption: AES256 (S3's default since 2023) or aws:kms. */
  serverSideEncryption: string;
  kmsKeyId?: string;
  checksum?: Checksum;
  /** x-amz-meta-* headers, by their lower-case name without the prefix. */
  metadata: Record<string, string>;
}

export interface Bucket {
  name: string;
  createDate: Date;
  objects: Map<string, S3Object>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function checkBucketName(name: string): void {
  if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', 400, { BucketName: name });
  }
}

/** The account holding a bucket name: names are global across accounts, as in AWS. */
export function bucketOwner(accounts: AwsAccounts, name: string): AwsState | undefined {
  return accounts.all().find((state) => state.buckets.has(name));
}

/**
 * The caller's bucket. Another account's bucket is AccessDenied: the emulator models no bucket
 * policies, so no other account is ever granted access.
 */
export function ownBucket(accounts: AwsAccounts, state: AwsState, name: string): Bucket {
  const bucket = state.buckets.get(name);
  if (bucket) return bucket;
  if (bucketOwner(accounts, name)) throw accessDenied();
  throw noSuchBucket(name);
}

/** Every object of a bucket, by key, without the bodies: what the admin API shows. */
export const objectInfo = (object: S3Object) => ({
  key: object.key,
  size: object.body.length,
  etag: object.etag,
  lastModified: object.lastModified.toISOString(),
  contentType: object.contentType,
  serverSideEncryption: object.serverSideEncryption,
  ...(object.kmsKeyId === undefined ? {} : { kmsKeyId: object.kmsKeyId }),
});
