import { IAMClient } from '@aws-sdk/client-iam';
import { clientConfig } from '../aws.js';

interface IamClients {
  iam: IAMClient;
  /**
   * For CreateAccessKey, which is not idempotent: an SDK retry after a lost response would make a
   * second key. The state machine retries instead, after createKey has removed the first one.
   */
  iamOnce: IAMClient;
}

let clients: IamClients | undefined;

/** The IAM clients, created once per container with the function's own credentials. */
export function iamClients(): IamClients {
  clients ??= {
    iam: new IAMClient(clientConfig()),
    iamOnce: new IAMClient({ ...clientConfig(), maxAttempts: 1 }),
  };
  return clients;
}
