import { parseHcl, PolicyParseError } from './hcl.js';

export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface PolicyRule {
  pattern: string;
  capabilities: Set<Capability>;
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

const isCapability = (value: string): value is Capability =>
  (CAPABILITIES as readonly string[]).includes(value);

/** Parses an ACL policy document; throws PolicyParseError with Vault-like text on anything else. */
export function parsePolicy(name: string, hcl: string): Policy {
  const rules = parseHcl(hcl).map(({ path, fields }) => {
    const capabilities = new Set<Capability>();
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'capabilities') {
        for (const cap of Array.isArray(value) ? value : [value]) {
          if (!isCapability(cap))
            throw new PolicyParseError(`path ${JSON.stringify(path)}: invalid capability "${cap}"`);
          capabilities.add(cap);
        }
      } else if (key === 'policy' && typeof value === 'string' && LEGACY[value]) {
        for (const cap of LEGACY[value]) capabilities.add(cap);
      } else {
        throw new PolicyParseError(`path ${JSON.stringify(path)}: unsupported key "${key}"`);
      }
    }
    return { pattern: path.replace(/^\//, ''), capabilities };
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
  capabilities: Set<Capability>;
}

function merge(into: Set<Capability>, from: Set<Capability>): Set<Capability> {
  // Vault: a deny anywhere on the same path pattern wins over every grant on it.
  if (into.has('deny') || from.has('deny')) return new Set(['deny']);
  return new Set([...into, ...from]);
}

function compile(pattern: string, capabilities: Set<Capability>): Compiled {
  const prefix = pattern.endsWith('*');
  const body = prefix ? pattern.slice(0, -1) : pattern;
  return { pattern, prefix, segments: body.split('/'), capabilities };
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
  private readonly exact = new Map<string, Set<Capability>>();
  private readonly globs: Compiled[] = [];

  constructor(
    policies: Policy[],
    readonly root = false,
  ) {
    const globs = new Map<string, Set<Capability>>();
    for (const rule of policies.flatMap((p) => p.rules)) {
      const isGlob = rule.pattern.endsWith('*') || rule.pattern.split('/').includes('+');
      const table = isGlob ? globs : this.exact;
      table.set(rule.pattern, merge(table.get(rule.pattern) ?? new Set(), rule.capabilities));
    }
    for (const [pattern, caps] of globs) this.globs.push(compile(pattern, caps));
  }

  /** Capabilities on `path` by the single most specific matching rule; `deny` when nothing matches. */
  capabilities(path: string, listing = false): Set<Capability> {
    if (this.root) return new Set(CAPABILITIES.filter((c) => c !== 'deny'));
    const exact = this.exact.get(path) ?? (listing ? this.exact.get(path.replace(/\/$/, '')) : undefined);
    if (exact) return exact;
    let best: Compiled | undefined;
    for (const rule of this.globs) {
      if (matches(rule, path) && (!best || lowerPriority(best, rule))) best = rule;
    }
    return best?.capabilities ?? new Set(['deny']);
  }

  allows(path: string, capability: Capability): boolean {
    const caps = this.capabilities(path, capability === 'list');
    return !caps.has('deny') && caps.has(capability);
  }

  /** Vault's hasMountAccess: any non-deny grant on the mount itself or on any rule beneath it. */
  hasMountAccess(mountPath: string): boolean {
    if (!this.capabilities(mountPath).has('deny')) return true;
    const grants = (caps: Set<Capability>): boolean => !caps.has('deny') && caps.size > 0;
    for (const [pattern, caps] of this.exact) if (pattern.startsWith(mountPath) && grants(caps)) return true;
    const mountSegments = mountPath.replace(/\/$/, '').split('/');
    return this.globs.some(
      (rule) =>
        grants(rule.capabilities) &&
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
