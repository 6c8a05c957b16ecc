import type { SdkClient } from './types.js';

/** What AWS answers a call signed with a key that no longer works (deactivated, deleted, replaced). */
export const AUTH_ERRORS: ReadonlySet<string> = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'AuthFailure',
]);

const NAME = 'iamKeyRotatorRefreshOnAuthError';

/**
 * A stream in the input (S3 PutObject's Body) was consumed by the refused attempt: sent again, it
 * would store what was left of it. The SDK's own retries skip such calls for the same reason.
 */
const streams = (input: object): boolean =>
  Object.values(input).some(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      (typeof (value as { pipe?: unknown }).pipe === 'function' ||
        typeof (value as { getReader?: unknown }).getReader === 'function'),
  );

/**
 * Makes `client` re-read its credentials and try once more when AWS refuses a call as signed with
 * a key that no longer works: a consumer that cached the key past a rotation recovers on its next
 * call instead of failing until the cache expires. A call whose input holds a stream is not tried
 * again (its key is still re-read, for the next call). Returns the client.
 */
export function refreshOnAuthError<C extends SdkClient>(client: C): C {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (!AUTH_ERRORS.has((error as { name?: unknown } | undefined)?.name as string)) throw error;
        // Through the client's memoized provider, so both its copy and fromVault's cache are renewed.
        await client.config.credentials({ forceRefresh: true });
        if (streams(args.input)) throw error;
        return next(args);
      }
    },
    { step: 'initialize', name: NAME, override: true },
  );
  return client;
}
