import { AwsServiceError } from '../errors.js';

/** An S3 error: its XML body may name the bucket or key it is about (<BucketName>, <Key>). */
export class S3Error extends AwsServiceError {
  constructor(
    code: string,
    message: string,
    status = 400,
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(code, message, status);
  }
}

export const noSuchBucket = (bucket: string): S3Error =>
  new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket });

export const noSuchKey = (key: string): S3Error =>
  new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });

export const accessDenied = (): S3Error => new S3Error('AccessDenied', 'Access Denied', 403);

export const invalidArgument = (message: string, name: string, value: string): S3Error =>
  new S3Error('InvalidArgument', message, 400, { ArgumentName: name, ArgumentValue: value });
