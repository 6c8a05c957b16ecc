import { invalidToken, permissionDenied } from './errors.js';
import { base62, serviceToken } from './ids.js';
import { Acl } from './policy.js';
import type { Policy } from './policy.js';
import type { AuthBlock } from './response.js';
import type { Namespace, Token, VaultState } from './state.js';
import { ROOT_NAMESPACE } from './state.js';

/** Vault's default token TTL (768h) when neither the request nor the role sets one. */
export const DEFAULT_TOKEN_TTL_SECONDS = 2_764_800;

export interface NewToken {
  policies: string[];
  ttlSeconds?: number;
  noDefaultPolicy?: boolean;
  renewable?: boolean;
  orphan?: boolean;
  path?: string;
  displayName?: string;
  meta?: Record<string, string> | null;
  /** Use this id instead of a random one (the root token). */
  id?: string;
}

/** Policies as Vault stores them: deduplicated, sorted, with `default` unless opted out or root. */
export function tokenPolicies(policies: string[], noDefaultPolicy = false): string[] {
  const set = new Set(policies.filter((p) => p !== ''));
  if (!noDefaultPolicy && !set.has('root')) set.add('default');
  return [...set].sort();
}

export function issueToken(ns: Namespace, spec: NewToken): Token {
  const policies = tokenPolicies(spec.policies, spec.noDefaultPolicy);
  const root = policies.includes('root');
  const ttlSeconds = root && spec.ttlSeconds === undefined ? 0 : spec.ttlSeconds || DEFAULT_TOKEN_TTL_SECONDS;
  const now = Date.now();
  const token: Token = {
    id: spec.id ?? serviceToken(ns.id),
    accessor: base62(24),
    namespace: ns.name,
    policies,
    ttlSeconds,
    issuedAt: now,
    expiresAt: ttlSeconds === 0 ? undefined : now + ttlSeconds * 1000,
    renewable: ttlSeconds !== 0 && (spec.renewable ?? true),
    orphan: spec.orphan ?? false,
    path: spec.path ?? 'auth/token/create',
    displayName: spec.displayName ?? 'token',
    meta: spec.meta ?? null,
  };
  ns.tokens.set(token.id, token);
  return token;
}

export function remainingSeconds(token: Token, now = Date.now()): number {
  return token.expiresAt === undefined ? 0 : Math.max(0, Math.ceil((token.expiresAt - now) / 1000));
}

function live(ns: Namespace, id: string): Token | undefined {
  const token = ns.tokens.get(id);
  if (token?.expiresAt !== undefined && token.expiresAt <= Date.now()) {
    ns.tokens.delete(id);
    return undefined;
  }
  return token;
}

export interface Caller {
  token: Token;
  acl: Acl;
  /** Prefix that turns a request path into the path the token's policies are written against. */
  aclPrefix: string;
}

/** Finds the token in the request namespace or, like Vault, in the root namespace above it. */
export function authenticate(state: VaultState, ns: Namespace, id: string | undefined): Caller {
  if (!id) throw permissionDenied();
  const own = live(ns, id);
  const parent = own ? undefined : ns.name === ROOT_NAMESPACE ? undefined : live(state.root(), id);
  const token = own ?? parent;
  if (!token) throw invalidToken();
  const home = own ? ns : state.root();
  const policies = token.policies
    .map((name) => home.policies.get(name))
    .filter((p): p is Policy => p !== undefined);
  return {
    token,
    acl: new Acl(policies, token.policies.includes('root')),
    aclPrefix: parent ? `${ns.name}/` : '',
  };
}

export function authBlock(token: Token, metadata: Record<string, string> | null = token.meta): AuthBlock {
  return {
    client_token: token.id,
    accessor: token.accessor,
    policies: token.policies,
    token_policies: token.policies,
    metadata,
    lease_duration: token.ttlSeconds,
    renewable: token.renewable,
    entity_id: '',
    token_type: 'service',
    orphan: token.orphan,
    mfa_requirement: null,
    num_uses: 0,
  };
}

/** The `data` of `auth/token/lookup-self`. */
export function lookupData(token: Token, namespacePath: string): Record<string, unknown> {
  const seconds = (ms: number): number => Math.floor(ms / 1000);
  return {
    accessor: token.accessor,
    creation_time: seconds(token.issuedAt),
    creation_ttl: token.ttlSeconds,
    display_name: token.displayName,
    entity_id: '',
    expire_time: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
    explicit_max_ttl: 0,
    id: token.id,
    issue_time: new Date(token.issuedAt).toISOString(),
    meta: token.meta,
    namespace_path: namespacePath,
    num_uses: 0,
    orphan: token.orphan,
    path: token.path,
    policies: token.policies,
    renewable: token.renewable,
    ttl: remainingSeconds(token),
    type: 'service',
  };
}
