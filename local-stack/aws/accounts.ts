import type { RateLimitSettings } from './rate-limit.js';
import {
  ADMIN_USER_NAME,
  AwsState,
  type AccessKey,
  type AuthorizationLog,
  type Denial,
  type Session,
} from './state.js';

const ACCOUNT_ID = /^\d{12}$/;

/**
 * Every account the emulator models: the home account (the rotator's) and member accounts, each
 * its own AwsState with its own local-admin. Access key ids and session key ids are global in
 * AWS, so a request's key is looked up across all of them; the call then acts in the account of
 * its principal.
 */
export class AwsAccounts implements AuthorizationLog {
  private readonly byId = new Map<string, AwsState>();
  /** Each account's local-admin key, made with the account. */
  private readonly adminKeys = new Map<string, AccessKey>();
  readonly home: AwsState;
  /** AssumeRole's sessions by key id, whatever the role's account. */
  readonly sessions = new Map<string, Session>();
  readonly denials: Denial[] = [];
  readonly allowed = new Set<string>();
  /** IAM's rate limit, which every account applies to its own calls (a bucket per account and action). */
  private iamRateLimit: RateLimitSettings | undefined;

  constructor(homeAccountId: string, region: string, propagationMs: number) {
    this.home = this.make(homeAccountId, region, propagationMs);
  }

  /** Adds a member account with its own local-admin and that user's key. */
  add(accountId: string): AwsState {
    return this.make(accountId, this.home.region, this.home.propagationMs);
  }

  private make(accountId: string, region: string, propagationMs: number): AwsState {
    if (!ACCOUNT_ID.test(accountId)) throw new RangeError(`an account id is 12 digits, not ${accountId}`);
    if (this.byId.has(accountId)) throw new RangeError(`account ${accountId} is already modelled`);
    const state = new AwsState(accountId, region, propagationMs);
    state.iamRateLimit.configure(this.iamRateLimit);
    state.addUser(ADMIN_USER_NAME);
    // Seeded: usable at once.
    this.adminKeys.set(accountId, state.addAccessKey(ADMIN_USER_NAME, false));
    this.byId.set(accountId, state);
    return state;
  }

  /** The account's local-admin key, as made with the account. */
  adminKey(accountId: string): AccessKey {
    const key = this.adminKeys.get(accountId);
    if (!key) throw new RangeError(`the emulator models no account ${accountId}`);
    return key;
  }

  get(accountId: string): AwsState | undefined {
    return this.byId.get(accountId);
  }

  all(): AwsState[] {
    return [...this.byId.values()];
  }

  /** An IAM user's access key, in whichever account holds it. */
  findAccessKey(accessKeyId: string): { key: AccessKey; state: AwsState } | undefined {
    for (const state of this.byId.values()) {
      const key = state.accessKeys.get(accessKeyId);
      if (key) return { key, state };
    }
    return undefined;
  }

  /**
   * Sets (or lifts) IAM's rate limit in every account, now and added later: AWS throttles each
   * account's IAM on its own, so a fleet over ten accounts has ten times the capacity.
   */
  setIamRateLimit(settings: RateLimitSettings | undefined): void {
    this.iamRateLimit = settings;
    for (const state of this.byId.values()) state.iamRateLimit.configure(settings);
  }

  /** The IAM calls throttled so far, by action, summed over every account. */
  iamThrottles(): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const state of this.byId.values()) {
      for (const [action, count] of Object.entries(state.iamRateLimit.describe().throttled)) {
        sums[action] = (sums[action] ?? 0) + count;
      }
    }
    return Object.fromEntries(Object.entries(sums).sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Sets how long new keys stay invisible, in every account (IAM's eventual consistency). */
  setPropagationMs(ms: number): void {
    for (const state of this.byId.values()) state.propagationMs = ms;
  }
}
