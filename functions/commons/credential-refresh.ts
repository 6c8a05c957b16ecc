/**
 * How often consumers re-read the key from Vault (`iam-key-rotator credentials --refresh`,
 * `fromVault({ refresh })`), and the clock skew allowed between them and AWS. The rotator's in-use
 * margin defaults to their sum: a consumer that refreshes on time is never counted as still using
 * the old key.
 */
export const DEFAULT_REFRESH_SECONDS = 300;
export const CLOCK_SKEW_SECONDS = 60;
export const DEFAULT_IN_USE_MARGIN_SECONDS = DEFAULT_REFRESH_SECONDS + CLOCK_SKEW_SECONDS;
