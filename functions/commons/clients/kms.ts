import { KMSClient } from '@aws-sdk/client-kms';
import { clientConfig } from '../aws.js';

let client: KMSClient | undefined;

/** The KMS client, created once per container with the function's own credentials. */
export function kmsClient(): KMSClient {
  client ??= new KMSClient(clientConfig());
  return client;
}
