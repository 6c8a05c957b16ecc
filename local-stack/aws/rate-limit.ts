import { z } from 'zod';
import { AwsServiceError } from './errors.js';

/** One token bucket: `burst` calls at once, refilled at `ratePerSecond`. */
export const BucketSettings = z.strictObject({
  ratePerSecond: z.number().positive(),
  burst: z.number().int().positive(),
});
export type BucketSettings = z.infer<typeof BucketSettings>;

/**
 * IAM's rate limit: a bucket per action (AWS throttles each IAM API on its own), each with the
 * default settings unless `actions` names it (e.g. `{ "CreateAccessKey": {...} }`).
 */
export const RateLimitSettings = z.strictObject({
  ratePerSecond: z.number().positive(),
  burst: z.number().int().positive(),
  actions: z.record(z.string().regex(/^[A-Z][A-Za-z]+$/), BucketSettings).optional(),
});
export type RateLimitSettings = z.infer<typeof RateLimitSettings>;

class TokenBucket {
  private tokens: number;

  constructor(
    private readonly settings: BucketSettings,
    private last: number,
  ) {
    this.tokens = settings.burst;
  }

  take(now: number): boolean {
    const { ratePerSecond, burst } = this.settings;
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) / 1000) * ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The emulated IAM's rate limit: off until configured, so an unconfigured stack is infinitely fast. */
export class IamRateLimit {
  private settings: RateLimitSettings | undefined;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly throttled = new Map<string, number>();

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Sets (or, with undefined, lifts) the limit; every bucket starts full and the counts at zero. */
  configure(settings: RateLimitSettings | undefined): void {
    this.settings = settings && RateLimitSettings.parse(settings);
    this.buckets.clear();
    this.throttled.clear();
  }

  /** Takes a token for `action`, or throws what IAM answers when its rate is exceeded. */
  admit(action: string): void {
    if (!this.settings) return;
    const now = this.clock();
    let bucket = this.buckets.get(action);
    if (!bucket) {
      bucket = new TokenBucket(this.settings.actions?.[action] ?? this.settings, now);
      this.buckets.set(action, bucket);
    }
    if (bucket.take(now)) return;
    this.throttled.set(action, (this.throttled.get(action) ?? 0) + 1);
    throw new AwsServiceError('Throttling', 'Rate exceeded', 400);
  }

  /** The settings, and the calls throttled so far by action. */
  describe(): { settings: RateLimitSettings | null; throttled: Record<string, number> } {
    return {
      settings: this.settings ?? null,
      throttled: Object.fromEntries([...this.throttled].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}
