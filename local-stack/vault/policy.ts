import { isDeepStrictEqual } from 'node:util';
import { type HclScalar, type HclValue, parseHcl, PolicyParseError } from './hcl.js';

export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Vault's ACLPermissions, as far as the emulator enforces them. */
export interface Permissions {
  capabilities: Set<Capability>;
  /** `allowed_parameters`: lower-cased name -> values it may take (empty: any value); `*`: any name. */
  allowedParameters: Map<string, HclScalar[]> | undefined;
  /** `denied_parameters`: lower-cased name -> values it may not take (empty: any value); `*`: any name. */
  deniedParameters: Map<string, HclScalar[]> | undefined;
  /** `required_parameters`: names every request must carry. */
  requiredParameters: string[];
}

export interface PolicyRule extends Permissions {
  pattern: string;
}

export interface Policy {
  name: string;
  hcl: string;
  rules: PolicyRule[];
}

// Vault's legacy `policy = "…"` shorthand, still accepted by the parser.
const LEGACY: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

const isCapability = (value: unknown): value is Capability =>
  (CAPABILITIES as readonly unknown[]).includes(value);

/** What a rule that denies keeps: the deny alone (Vault ignores its other fields). */
const denyOnly = (): Permissions => ({
  capabilities: new Set(['deny']),
  allowedParameters: undefined,
  deniedParameters: undefined,
  requiredParameters: [],
});

/** Vault lower-cases parameter names when it parses a policy (vault/policy.go parsePaths). */
function parameterMap(path: string, key: string, value: HclValue): Map<string, HclScalar[]> {
  if (typeof value === 'string' || Array.isArray(value)) {
    throw new PolicyParseError(`path ${JSON.stringify(path)}: ${key} must be an object of lists`);
  }
  return new Map(Object.entries(value).map(([name, values]) => [name.toLowerCase(), values]));
}

function stringList(path: string, key: string, value: HclValue): string[] {
  const items = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) {
    throw new PolicyParseError(`path ${JSON.stringify(path)}: ${key} must be a list of strings`);
  }
  return items as string[];
}

/** Parses an ACL policy document; throws PolicyParseError with Vault-like text on anything else. */
export function parsePolicy(name: string, hcl: string): Policy {
  const rules = parseHcl(hcl).map(({ path, fields }): PolicyRule => {
    const rule: PolicyRule = {
      pattern: path.replace(/^\//, ''),
      capabilities: new Set<Capability>(),
      allowedParameters: undefined,
      deniedParameters: undefined,
      requiredParameters: [],
    };
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'capabilities') {
        for (const cap of stringList(path, key, value)) {
          if (!isCapability(cap))
            throw new PolicyParseError(`path ${JSON.stringify(path)}: invalid capability "${cap}"`);
          rule.capabilities.add(cap);
        }
      } else if (key === 'policy' && typeof value === 'string' && LEGACY[value]) {
        for (const cap of LEGACY[value]) rule.capabilities.add(cap);
      } else if (key === 'allowed_parameters') {
        rule.allowedParameters = parameterMap(path, key, value);
      } else if (key === 'denied_parameters') {
        rule.deniedParameters = parameterMap(path, key, value);
      } else if (key === 'required_parameters') {
        rule.requiredParameters = stringList(path, key, value);
      } else {
        throw new PolicyParseError(`path ${JSON.stringify(path)}: unsupported key "${key}"`);
      }
    }
    // Vault keeps nothing but the deny of a rule that denies.
    if (rule.capabilities.has('deny')) return { ...rule, ...denyOnly() };
    return rule;
  });
  return { name, hcl, rules };
}

/** The built-in `default` policy, trimmed to the token self-service paths the emulator serves. */
export const DEFAULT_POLICY_HCL = `# Allow tokens to look up, renew and revoke themselves
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
path "sys/capabilities-self" {
  capabilities = ["update"]
}
`;

interface Compiled {
  pattern: string;
  prefix: boolean;
  segments: string[];
  permissions: Permissions;
}

/** Vault's merge of parameter maps: an empty list (any value) wins, otherwise the values add up. */
function mergeParameters(
  into: Map<string, HclScalar[]> | undefined,
  from: Map<string, HclScalar[]> | undefined,
): Map<string, HclScalar[]> | undefined {
  if (!from || from.size === 0) return into;
  if (!into) return new Map(from);
  const merged = new Map(into);
  for (const [name, values] of from) {
    const existing = merged.get(name);
    merged.set(
      name,
      values.length === 0 || (existing && existing.length === 0) ? [] : [...values, ...(existing ?? [])],
    );
  }
  return merged;
}

/** Vault's NewACL merge of two rules on the same path pattern (vault/acl.go). */
function merge(into: Permissions, from: Permissions): Permissions {
  // A deny anywhere on the same path pattern wins over every grant on it.
  if (into.capabilities.has('deny') || from.capabilities.has('deny')) return denyOnly();
  return {
    capabilities: new Set([...into.capabilities, ...from.capabilities]),
    allowedParameters: mergeParameters(into.allowedParameters, from.allowedParameters),
    deniedParameters: mergeParameters(into.deniedParameters, from.deniedParameters),
    requiredParameters: [...new Set([...into.requiredParameters, ...from.requiredParameters])],
  };
}

const permissionsOf = (rule: PolicyRule): Permissions => ({
  capabilities: rule.capabilities,
  allowedParameters: rule.allowedParameters,
  deniedParameters: rule.deniedParameters,
  requiredParameters: rule.requiredParameters,
});

/** strutil.GlobbedStringsMatch: a `*` at the start and/or the end of the pattern. */
function globbedMatch(pattern: string, value: string): boolean {
  if (pattern.length < 2) return pattern === value;
  const head = pattern.startsWith('*');
  const tail = pattern.endsWith('*');
  if (head && tail) return value.includes(pattern.slice(1, -1));
  if (head) return value.endsWith(pattern.slice(1));
  if (tail) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

/** valueInParameterList: a string against string globs, anything else by equality. */
function inList(value: unknown, list: HclScalar[]): boolean {
  return list.some((item) =>
    typeof item === 'string' && typeof value === 'string'
      ? globbedMatch(item, value)
      : isDeepStrictEqual(item, value),
  );
}

/**
 * The elements Vault 1.21+ checks one by one besides the whole value: a list's items, or a
 * string's comma-separated parts (parseutil.ParseCommaStringSlice; "" gives none).
 */
function elements(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (typeof value !== 'string') return undefined;
  return value === '' ? [] : value.split(',').map((part) => part.trim());
}

function allowedValue(value: unknown, list: HclScalar[]): boolean {
  if (list.length === 0 || inList(value, list)) return true;
  return elements(value)?.every((item) => inList(item, list)) ?? false;
}

function deniedValue(value: unknown, list: HclScalar[]): boolean {
  if (list.length === 0 || inList(value, list)) return true;
  return elements(value)?.some((item) => inList(item, list)) ?? false;
}

/** The parameter checks of Vault's ACL.AllowOperation, for read, create, update and patch. */
function parametersAllowed(permissions: Permissions, data: Record<string, unknown>): boolean {
  const names = Object.keys(data);
  if (permissions.requiredParameters.some((name) => !(name.toLowerCase() in data))) return false;
  if (names.length === 0) return true;
  const denied = permissions.deniedParameters;
  if (denied && denied.size > 0) {
    if (denied.has('*')) return false;
    for (const name of names) {
      const values = denied.get(name.toLowerCase());
      if (values && deniedValue(data[name], values)) return false;
    }
  }
  const allowed = permissions.allowedParameters;
  if (!allowed || allowed.size === 0) return true;
  const any = allowed.has('*');
  if (any && allowed.size === 1) return true;
  return names.every((name) => {
    const values = allowed.get(name.toLowerCase());
    return values ? allowedValue(data[name], values) : any;
  });
}

const PARAMETER_CHECKED: readonly Capability[] = ['read', 'create', 'update', 'patch'];

function compile(pattern: string, permissions: Permissions): Compiled {
  const prefix = pattern.endsWith('*');
  const body = prefix ? pattern.slice(0, -1) : pattern;
  return { pattern, prefix, segments: body.split('/'), permissions };
}

function matches(rule: Compiled, path: string): boolean {
  const parts = path.split('/');
  if (rule.prefix ? parts.length < rule.segments.length : parts.length !== rule.segments.length) return false;
  return rule.segments.every((segment, i) => {
    const part = parts[i] ?? '';
    if (segment === '+') return true;
    return rule.prefix && i === rule.segments.length - 1 ? part.startsWith(segment) : part === segment;
  });
}

const firstWildcard = (rule: Compiled): number => {
  const plus = rule.segments.indexOf('+');
  const plusAt = plus === -1 ? Infinity : rule.segments.slice(0, plus).join('/').length + (plus > 0 ? 1 : 0);
  return Math.min(plusAt, rule.prefix ? rule.pattern.length - 1 : Infinity);
};

/** Vault's priority rules for non-exact paths (docs: concepts/policies, "Priority matching"). */
function lowerPriority(a: Compiled, b: Compiled): boolean {
  if (firstWildcard(a) !== firstWildcard(b)) return firstWildcard(a) < firstWildcard(b);
  if (a.prefix !== b.prefix) return a.prefix;
  const plusA = a.segments.filter((s) => s === '+').length;
  const plusB = b.segments.filter((s) => s === '+').length;
  if (plusA !== plusB) return plusA > plusB;
  if (a.pattern.length !== b.pattern.length) return a.pattern.length < b.pattern.length;
  return a.pattern < b.pattern;
}

/** The merged rules of a token's policies, answering which capabilities a path has. */
export class Acl {
  private readonly exact = new Map<string, Permissions>();
  private readonly globs: Compiled[] = [];

  constructor(
    policies: Policy[],
    readonly root = false,
  ) {
    const globs = new Map<string, Permissions>();
    for (const rule of policies.flatMap((p) => p.rules)) {
      const isGlob = rule.pattern.endsWith('*') || rule.pattern.split('/').includes('+');
      const table = isGlob ? globs : this.exact;
      const existing = table.get(rule.pattern);
      table.set(rule.pattern, existing ? merge(existing, rule) : permissionsOf(rule));
    }
    for (const [pattern, permissions] of globs) this.globs.push(compile(pattern, permissions));
  }

  /** The permissions of the single most specific rule matching `path`, if any. */
  private permissions(path: string, listing: boolean): Permissions | undefined {
    const exact = this.exact.get(path) ?? (listing ? this.exact.get(path.replace(/\/$/, '')) : undefined);
    if (exact) return exact;
    let best: Compiled | undefined;
    for (const rule of this.globs) {
      if (matches(rule, path) && (!best || lowerPriority(best, rule))) best = rule;
    }
    return best?.permissions;
  }

  /** Capabilities on `path` by the single most specific matching rule; `deny` when nothing matches. */
  capabilities(path: string, listing = false): Set<Capability> {
    if (this.root) return new Set(CAPABILITIES.filter((c) => c !== 'deny'));
    return this.permissions(path, listing)?.capabilities ?? new Set(['deny']);
  }

  /**
   * Whether the operation is allowed: the capability, then (read, create, update, patch) the
   * rule's required, denied and allowed parameters against the request's `data` (the JSON body,
   * or the query of a GET).
   */
  allows(path: string, capability: Capability, data: Record<string, unknown> = {}): boolean {
    if (this.root) return true;
    const permissions = this.permissions(path, capability === 'list');
    const caps = permissions?.capabilities;
    if (!permissions || !caps || caps.has('deny') || !caps.has(capability)) return false;
    return !PARAMETER_CHECKED.includes(capability) || parametersAllowed(permissions, data);
  }

  /** Vault's hasMountAccess: any non-deny grant on the mount itself or on any rule beneath it. */
  hasMountAccess(mountPath: string): boolean {
    if (!this.capabilities(mountPath).has('deny')) return true;
    const grants = (caps: Set<Capability>): boolean => !caps.has('deny') && caps.size > 0;
    for (const [pattern, permissions] of this.exact)
      if (pattern.startsWith(mountPath) && grants(permissions.capabilities)) return true;
    const mountSegments = mountPath.replace(/\/$/, '').split('/');
    return this.globs.some(
      (rule) =>
        grants(rule.permissions.capabilities) &&
        mountSegments.every((seg, i) => {
          const ruleSeg = rule.segments[i];
          if (ruleSeg === undefined) return rule.prefix;
          return (
            ruleSeg === '+' ||
            ruleSeg === seg ||
            (rule.prefix && i === rule.segments.length - 1 && seg.startsWith(ruleSeg))
          );
        }),
    );
  }
}
