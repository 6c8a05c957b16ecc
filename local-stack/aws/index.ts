import { Traffic } from '../traffic.js';
import { startServer } from './server.js';
import {
  AwsState,
  accessKeyInfo,
  seededAccessKey,
  userInfo,
  type AccessKeyInfo,
  type SeededAccessKey,
  type StateSnapshot,
  type UserInfo,
} from './state.js';

export { AwsServiceError } from './errors.js';
export type { AccessKeyInfo, SeededAccessKey, StateSnapshot, UserInfo } from './state.js';

/** The user the emulator creates at start; it may call everything (no IAM policies are evaluated). */
export const ADMIN_USER_NAME = 'local-admin';

export interface AwsEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  region?: string;
  accountId?: string;
  /** How long a key made by CreateAccessKey is refused as InvalidClientTokenId; default 0. */
  propagationMs?: number;
  traffic?: Traffic;
}

export interface AwsEmulator {
  /** e.g. http://127.0.0.1:PORT; give it to the SDK clients as `endpoint`. */
  endpoint: string;
  region: string;
  accountId: string;
  adminCredentials: { accessKeyId: string; secretAccessKey: string };
  traffic: Traffic;
  createUser(userName: string, path?: string): UserInfo;
  /** Seeds a key that works at once (no propagation delay). */
  createAccessKey(userName: string): SeededAccessKey;
  listAccessKeys(userName: string): AccessKeyInfo[];
  setPropagationMs(ms: number): void;
  snapshot(): StateSnapshot;
  /** Stops listening and drops open connections, including ones a `timeout` fault holds. */
  close(): Promise<void>;
}

function checkPropagationMs(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0)
    throw new RangeError(`propagationMs must be a whole number >= 0, not ${ms}`);
  return ms;
}

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const traffic = options.traffic ?? new Traffic();
  const state = new AwsState(accountId, region, checkPropagationMs(options.propagationMs ?? 0));
  state.addUser(ADMIN_USER_NAME);
  const adminKey = state.addAccessKey(ADMIN_USER_NAME, false);
  const server = await startServer(state, traffic, host, options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `http://${urlHost}:${server.port}`,
    region,
    accountId,
    adminCredentials: { accessKeyId: adminKey.accessKeyId, secretAccessKey: adminKey.secretAccessKey },
    traffic,
    createUser: (userName, path) => userInfo(state.addUser(userName, path)),
    createAccessKey: (userName) => seededAccessKey(state.addAccessKey(userName, false)),
    listAccessKeys: (userName) => state.keysOf(state.getUser(userName).userName).map(accessKeyInfo),
    setPropagationMs: (ms) => {
      state.propagationMs = checkPropagationMs(ms);
    },
    snapshot: () => state.snapshot(),
    close: () => server.close(),
  };
}
