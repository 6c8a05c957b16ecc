import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { clientConfig } from '../aws.js';

/** An STS client that signs with the given key and does not retry (the state machine does). */
export function stsWith(credentials: AwsCredentialIdentity): STSClient {
  return new STSClient(clientConfig(credentials));
}

let own: STSClient | undefined;

/** The STS client signing with the function's own credentials, created once per container. */
export function stsClient(): STSClient {
  own ??= new STSClient(clientConfig());
  return own;
}
