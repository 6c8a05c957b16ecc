import { IAMClient } from '@aws-sdk/client-iam';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { accountSettings } from '../accounts.js';
import { clientConfig } from '../aws.js';
import { assumedRoleCredentials, type IamTarget } from './assume-role.js';

export type { IamTarget, TargetStep } from './assume-role.js';

interface IamClients {
  iam: IAMClient;
  /**
   * For CreateAccessKey, which is not idempotent: an SDK retry after a lost response would make a
   * second key. The state machine retries instead, after createKey has removed the first one.
   */
  iamOnce: IAMClient;
}

let own: IamClients | undefined;
/** Clients acting in other accounts, by account, step and execution; the least recently used are dropped. */
const assumed = new Map<string, IamClients>();
/** Above the fleet machine's ListAccounts MaxConcurrency (a test checks), so a fleet run seldom assumes a role twice. */
export const MAX_ASSUMED = 16;
/**
 * A dropped client may still be in use by a running invocation (listCandidates holds one for the
 * account it lists): it is closed only once no invocation could still be running, Lambda's 15 minutes.
 */
export const CLOSE_DROPPED_AFTER_MS = 15 * 60 * 1000;

function makeClients(credentials?: AwsCredentialIdentityProvider): IamClients {
  const settings = { ...clientConfig(), ...(credentials ? { credentials } : {}) };
  return { iam: new IAMClient(settings), iamOnce: new IAMClient({ ...settings, maxAttempts: 1 }) };
}

/**
 * The IAM clients for the account a step acts in: with the function's own credentials for the
 * rotator's own account (or no target), else with the target role's, assumed as the step.
 * Created once per container (per account, step and execution for other accounts).
 */
export function iamClients(target?: IamTarget): IamClients {
  if (target === undefined || target.accountId === accountSettings().ownAccountId) {
    own ??= makeClients();
    return own;
  }
  const key = `${target.accountId} ${target.step} ${target.execution}`;
  let clients = assumed.get(key);
  if (clients === undefined) {
    clients = makeClients(assumedRoleCredentials(target));
    assumed.set(key, clients);
    for (const [oldest, dropped] of assumed) {
      if (assumed.size <= MAX_ASSUMED) break;
      assumed.delete(oldest);
      // Their sockets would otherwise stay open in a warm container.
      setTimeout(() => {
        dropped.iam.destroy();
        dropped.iamOnce.destroy();
      }, CLOSE_DROPPED_AFTER_MS).unref();
    }
  } else {
    // The least recently used go first.
    assumed.delete(key);
    assumed.set(key, clients);
  }
  return clients;
}
