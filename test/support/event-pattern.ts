// A small EventBridge event pattern matcher: exact values, prefix, wildcard, anything-but and $or,
// the operators the rotator's rules use (deploy/alerts.cjs, deploy/template.cjs). It follows
// EventBridge's documented semantics for those: a pattern field matches only a field the event has;
// a list of matchers matches when any one does; an event array (of values or of objects) matches
// when any element does.
// Anything else in a pattern throws, so a rule growing a new operator cannot pass untested.

/** A leaf matcher of a pattern list. */
type Matcher =
  | string
  | number
  | boolean
  | null
  | { prefix: string }
  | { wildcard: string }
  | { 'anything-but': string | number | (string | number)[] };

export type EventPattern = { [field: string]: Matcher[] | EventPattern | EventPattern[] };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `*` matches any run of characters (none too); everything else is literal. */
function wildcard(pattern: string, value: string): boolean {
  const regex = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${regex}$`, 's').test(value);
}

function leaf(matcher: Matcher, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value;
  const [operator, ...others] = Object.keys(matcher);
  if (others.length > 0) throw new Error(`one operator per matcher: ${JSON.stringify(matcher)}`);
  if ('prefix' in matcher) return typeof value === 'string' && value.startsWith(matcher.prefix);
  if ('wildcard' in matcher) return typeof value === 'string' && wildcard(matcher.wildcard, value);
  if ('anything-but' in matcher) {
    const excluded = [matcher['anything-but']].flat();
    return (typeof value === 'string' || typeof value === 'number') && !excluded.includes(value);
  }
  throw new Error(`operator ${String(operator)} is not supported by this matcher`);
}

function field(matchers: Matcher[], value: unknown): boolean {
  // A pattern field never matches a field the event lacks (no `exists` here).
  if (value === undefined) return false;
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return matchers.some((m) => values.some((v) => leaf(m, v)));
}

/** Whether `event` matches `pattern`, as EventBridge decides for the operators above. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  // An array of objects matches when one element does (CloudTrail's `tags: [{key, value}]`).
  if (Array.isArray(event)) return event.some((element) => matchesPattern(pattern, element));
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    if (key === '$or') {
      if (!Array.isArray(expected)) throw new Error('$or takes a list of patterns');
      return (expected as EventPattern[]).some((branch) => matchesPattern(branch, event));
    }
    if (Array.isArray(expected)) return field(expected as Matcher[], event[key]);
    if (isObject(expected)) return matchesPattern(expected, event[key]);
    throw new Error(`pattern field ${key} is neither a list of matchers nor a pattern`);
  });
}

/**
 * A template's pattern with `{ Ref: id }` and `{ 'Fn::GetAtt': [id, 'Arn'] }` replaced by the ARNs
 * given, as CloudFormation would fill them in; an id not given throws.
 */
export function resolvePattern(value: unknown, arns: Record<string, string>): EventPattern {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isObject(node)) return node;
    const ref = node.Ref ?? (node['Fn::GetAtt'] as unknown[] | undefined)?.[0];
    if (typeof ref === 'string') {
      const arn = arns[ref];
      if (arn === undefined) throw new Error(`no ARN given for ${ref}`);
      return arn;
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
  };
  return walk(value) as EventPattern;
}
