import { emulatedS3 } from '../sfn/distributed-map/emulated-s3.js';
import type { StepFunctions } from '../sfn/service.js';
import { Traffic } from '../traffic.js';
import { seedSecret, type SeededSecret } from './secrets-manager.js';
import type { RateLimitSettings } from './rate-limit.js';
import { startServer } from './server.js';
import { seedParameter, type ParameterInfo, type ParameterType } from './ssm.js';
import { AwsAccounts } from './accounts.js';
import {
  accessKeyInfo,
  seededAccessKey,
  userInfo,
  type AccessKeyInfo,
  type Denial,
  type SeededAccessKey,
  type StateSnapshot,
  type UserInfo,
  type AwsState,
} from './state.js';

export { AwsServiceError } from './errors.js';
export type { AccessKeyInfo, Denial, SeededAccessKey, StateSnapshot, UserInfo } from './state.js';
export type { SecretInfo, SeededSecret } from './secrets-manager.js';
export type { ParameterInfo, ParameterType } from './ssm.js';
export type { BucketSettings, RateLimitSettings } from './rate-limit.js';

/**
 * The user the emulator creates in every account at start; it may call everything. IAM policies
 * are evaluated only for sessions of roles made with CreateRole (see authorize.ts).
 */
export { ADMIN_USER_NAME } from './state.js';

export interface AwsEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  region?: string;
  /** The home account (the rotator's); default 123456789012. */
  accountId?: string;
  /** Further accounts, each with its own IAM users and roles, KMS, secrets, parameters, Step Functions and local-admin. */
  memberAccountIds?: string[];
  /** How long a key made by CreateAccessKey is refused as InvalidClientTokenId; default 0. */
  propagationMs?: number;
  /** IAM's rate limit (a token bucket per action); none by default. */
  iamRateLimit?: RateLimitSettings;
  traffic?: Traffic;
}

/** One modelled account, seeded and inspected as the emulator's top-level methods do the home account. */
export interface AwsAccount {
  accountId: string;
  /** That account's local-admin key. */
  adminCredentials: { accessKeyId: string; secretAccessKey: string };
  createUser(userName: string, path?: string): UserInfo;
  /** Seeds a key that works at once (no propagation delay). */
  createAccessKey(userName: string): SeededAccessKey;
  listAccessKeys(userName: string): AccessKeyInfo[];
  /** Everything the account holds, without any secret. */
  snapshot(): StateSnapshot;
}

export interface AwsEmulator {
  /** e.g. http://127.0.0.1:PORT; give it to the SDK clients as `endpoint`. */
  endpoint: string;
  region: string;
  accountId: string;
  adminCredentials: { accessKeyId: string; secretAccessKey: string };
  traffic: Traffic;
  /** The Step Functions service on the same endpoint; machines are registered here. */
  stepFunctions: StepFunctions;
  createUser(userName: string, path?: string): UserInfo;
  /** Seeds a key that works at once (no propagation delay). */
  createAccessKey(userName: string): SeededAccessKey;
  listAccessKeys(userName: string): AccessKeyInfo[];
  /** The home account or a member account; throws RangeError for an account the emulator does not model. */
  account(accountId: string): AwsAccount;
  /** Sets how long new keys are refused, in every account. */
  setPropagationMs(ms: number): void;
  /**
   * Sets IAM's rate limit in every account (each throttles its own calls, a bucket per action), or
   * lifts it (undefined); every bucket starts full, the counts at zero.
   */
  setIamRateLimit(settings: RateLimitSettings | undefined): void;
  /** IAM calls answered `Throttling` so far, by action, in all accounts. */
  iamThrottles(): Record<string, number>;
  /** Seeds a Secrets Manager secret whose AWSCURRENT version holds `value` as SecretString. */
  createSecret(name: string, value: string): SeededSecret;
  /** Seeds an SSM parameter, or overwrites it with a new version; SecureString values are KMS-sealed. */
  putParameter(name: string, value: string, type: ParameterType): ParameterInfo;
  /** Calls that policy evaluation refused in any account (AssumeRole's trust refusals too), oldest first. */
  denials(): Denial[];
  /** Each action a role's policy allowed, once, in any account. */
  allowedActions(): { roleArn: string; action: string }[];
  /** Forgets the denials and allowed actions recorded so far. */
  clearAuthorizationLog(): void;
  /** Everything the home account holds, without any secret: no key secrets, secret values or parameter values. */
  snapshot(): StateSnapshot;
  /** Stops listening and drops open connections, including ones a `timeout` fault holds. */
  close(): Promise<void>;
}

function checkPropagationMs(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0)
    throw new RangeError(`propagationMs must be a whole number >= 0, not ${ms}`);
  return ms;
}

/** The seeding and inspecting methods of one account. */
function accountApi(accounts: AwsAccounts, state: AwsState): AwsAccount {
  const admin = accounts.adminKey(state.accountId);
  return {
    accountId: state.accountId,
    adminCredentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    createUser: (userName, path) => userInfo(state.addUser(userName, path)),
    createAccessKey: (userName) => seededAccessKey(state.addAccessKey(userName, false)),
    listAccessKeys: (userName) => state.keysOf(state.getUser(userName).userName).map(accessKeyInfo),
    snapshot: () => state.snapshot(),
  };
}

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const traffic = options.traffic ?? new Traffic();
  const accounts = new AwsAccounts(accountId, region, checkPropagationMs(options.propagationMs ?? 0));
  for (const member of options.memberAccountIds ?? []) accounts.add(member);
  const state = accounts.home;
  accounts.setIamRateLimit(options.iamRateLimit);
  // Distributed Maps read and write this emulator's S3 as their state machine's role.
  for (const account of accounts.all()) account.stepFunctions.s3 = emulatedS3(accounts, traffic, account);
  const server = await startServer(accounts, traffic, host, options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const home = accountApi(accounts, state);
  return {
    endpoint: `http://${urlHost}:${server.port}`,
    region,
    accountId,
    adminCredentials: home.adminCredentials,
    traffic,
    stepFunctions: state.stepFunctions,
    createUser: home.createUser,
    createAccessKey: home.createAccessKey,
    listAccessKeys: home.listAccessKeys,
    account: (id) => {
      const member = accounts.get(id);
      if (!member) throw new RangeError(`the AWS emulator models no account ${id}`);
      return accountApi(accounts, member);
    },
    setPropagationMs: (ms) => accounts.setPropagationMs(checkPropagationMs(ms)),
    setIamRateLimit: (settings) => accounts.setIamRateLimit(settings),
    iamThrottles: () => accounts.iamThrottles(),
    createSecret: (name, value) => seedSecret(state, name, value),
    putParameter: (name, value, type) => seedParameter(state, name, value, type),
    denials: () => [...accounts.denials],
    allowedActions: () =>
      [...accounts.allowed].map((entry) => {
        const [roleArn = '', action = ''] = entry.split(' ');
        return { roleArn, action };
      }),
    clearAuthorizationLog: () => {
      accounts.denials.length = 0;
      accounts.allowed.clear();
    },
    snapshot: home.snapshot,
    close: () => {
      for (const account of accounts.all()) account.stepFunctions.executions.abortAll();
      return server.close();
    },
  };
}
