import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../aws.js';

let client: S3Client | undefined;

/** The S3 client of the fleet's bucket, created once per container with the function's own credentials. */
export function s3Client(): S3Client {
  client ??= new S3Client(clientConfig());
  return client;
}
