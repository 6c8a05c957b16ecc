import { arnLike, wildcardMatch } from './wildcard.js';

/**
 * The request's condition keys, by lower-case name (IAM compares key names case-insensitively),
 * each with its values: one for a single-valued key, any number for a multi-valued one
 * (aws:TagKeys, kms:EncryptionContextKeys). An absent key is not in the map.
 */
export type RequestContext = ReadonlyMap<string, readonly string[]>;

type Compare = (policyValue: string, requestValue: string) => boolean;

/** The operators the rotator's policies use; values compare case-sensitively except Bool. */
const COMPARISONS: Record<string, Compare> = {
  stringequals: (p, r) => p === r,
  stringlike: (p, r) => wildcardMatch(p, r),
  arnlike: (p, r) => arnLike(p, r),
  bool: (p, r) => p.toLowerCase() === r.toLowerCase(),
};

const SET_PREFIXES = ['forallvalues:', 'foranyvalue:'] as const;

/** Every operator name (lower case) the evaluator knows; policies using others are refused. */
export const OPERATORS: ReadonlySet<string> = new Set([
  'null',
  ...Object.keys(COMPARISONS),
  ...SET_PREFIXES.flatMap((prefix) => Object.keys(COMPARISONS).map((op) => prefix + op)),
]);

/**
 * One operator on one key: the policy's values are ORed. Without a set prefix, an absent key
 * never matches and a present one matches when any of its values matches. ForAllValues matches
 * when every request value matches some policy value (so also when the key is absent or empty);
 * ForAnyValue when at least one does. Null:true matches an absent key, Null:false a present one.
 */
export function keyMatches(
  operator: string,
  key: string,
  policyValues: readonly string[],
  context: RequestContext,
): boolean {
  const op = operator.toLowerCase();
  const values = context.get(key.toLowerCase());
  if (op === 'null') {
    const absent = values === undefined || values.length === 0;
    return policyValues.some((p) => (p.toLowerCase() === 'true') === absent);
  }
  const prefix = SET_PREFIXES.find((candidate) => op.startsWith(candidate));
  const compare = COMPARISONS[prefix ? op.slice(prefix.length) : op];
  if (!compare) return false;
  const matchesOne = (requestValue: string) => policyValues.some((p) => compare(p, requestValue));
  if (prefix === 'forallvalues:') return (values ?? []).every(matchesOne);
  return (values ?? []).some(matchesOne);
}

/** A statement's Condition block: every operator, and every key under it, must match (AND). */
export function conditionMatches(
  condition: Record<string, Record<string, readonly string[]>>,
  context: RequestContext,
): boolean {
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => keyMatches(operator, key, values, context)),
  );
}
