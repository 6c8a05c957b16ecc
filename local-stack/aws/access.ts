import type { CallContext } from './context.js';
import type { AccessRequest } from './policy/evaluate.js';

/** One authorization an operation needs: the evaluated request, and how a denial names the resource. */
export interface Access extends AccessRequest {
  /** e.g. `user ci` for IAM users, the ARN elsewhere (as AWS's AccessDenied messages say). */
  shown: string;
}

/**
 * What an operation asks of IAM, computed before it runs: an empty list for calls that need no
 * permission (sts:GetCallerIdentity) or whose input the operation itself will reject.
 */
export type QueryAccess = (params: URLSearchParams, ctx: CallContext) => Access[];
export type JsonAccess = (input: unknown, ctx: CallContext) => Access[];

/** Condition keys by lower-case name; undefined values leave the key absent. */
export function conditionKeys(
  entries: Record<string, string | readonly string[] | undefined>,
): ReadonlyMap<string, readonly string[]> {
  const map = new Map<string, readonly string[]>();
  for (const [key, value] of Object.entries(entries)) {
    if (value !== undefined) map.set(key.toLowerCase(), typeof value === 'string' ? [value] : value);
  }
  return map;
}

/** A string field of a JSON input, if it is one. */
export function field(input: unknown, name: string): string | undefined {
  const value = (input as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** A string-to-string map field of a JSON input (an encryption context), if it is one. */
export function stringMap(input: unknown, name: string): Record<string, string> | undefined {
  const value = (input as Record<string, unknown> | null)?.[name];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.values(value).every((v) => typeof v === 'string')
    ? (value as Record<string, string>)
    : undefined;
}
