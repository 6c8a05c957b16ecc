// Types of http-trigger.cjs for the tests.
/** The access log's format: one JSON object per request. */
export const ACCESS_LOG_FORMAT: string;
/** The JSON Schema pattern of a Vault path the rotator may serve below `prefix` (with maxLength 256). */
export function servablePathPattern(prefix: string): string;
