import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from './errors.js';
import type { Capability } from './policy.js';
import type { VaultResponse } from './response.js';
import type { KvMount, Namespace, VaultState } from './state.js';
import type { Caller } from './tokens.js';

/** HTTP methods as Vault sees them; LIST is what `GET ?list=true` becomes. */
export type VaultMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

/** Operation names the emulator reports to Traffic (see local-stack/traffic.ts). */
export type TrafficOp =
  'login' | 'kv-read' | 'kv-write' | 'kv-metadata' | 'kv-delete' | 'mounts' | 'health' | 'token' | 'sys';

/** Where a route lives: a fixed backend or any kv mount of that version. */
export type Scope = 'sys' | 'token' | 'aws' | 'approle' | 'kv1' | 'kv2';

export interface RequestContext {
  state: VaultState;
  ns: Namespace;
  method: VaultMethod;
  /** The request path inside the namespace, without `/v1/`. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  mount: KvMount | undefined;
  caller: Caller | undefined;
  stsEndpoint: string;
}

export interface Route {
  scope: Scope;
  /** Relative to the scope root; a final `{path}` takes the rest of the path, any other `{x}` one segment. */
  pattern: string;
  methods: VaultMethod[];
  op: TrafficOp;
  /** `public`: no token; `token`: a valid token, the handler decides; `acl`: the token's policies must allow the path. */
  access: 'public' | 'token' | 'acl';
  /** `{path}` also takes a trailing slash (Vault's `.*` path fields, e.g. sys/internal/ui/mounts). */
  greedy?: boolean;
  /** Vault's existence check: on POST/PUT it picks `update` over `create`. */
  exists?: (ctx: RequestContext) => boolean;
  handle: (ctx: RequestContext) => VaultResponse | Promise<VaultResponse>;
}

export const SCOPE_ROOT: Record<Exclude<Scope, 'kv1' | 'kv2'>, string> = {
  sys: 'sys/',
  token: 'auth/token/',
  aws: 'auth/aws/',
  approle: 'auth/approle/',
};

/** How the scope root is spelled in Vault's OpenAPI document. */
export const OPENAPI_ROOT: Record<Scope, string> = {
  sys: '/sys/',
  token: '/auth/token/',
  aws: '/auth/{aws_mount_path}/',
  approle: '/auth/{approle_mount_path}/',
  kv1: '/{kv_v1_mount_path}/',
  kv2: '/{kv_v2_mount_path}/',
};

const compiled = new WeakMap<Route, { regex: RegExp; names: string[] }>();

function compile(route: Route): { regex: RegExp; names: string[] } {
  const cached = compiled.get(route);
  if (cached) return cached;
  const names: string[] = [];
  const source = route.pattern.replace(
    /\{(path)\}(\/?)$|\{(\w+)\}|[.*+?^$()|[\]\\]/g,
    (m, rest, slash, one) => {
      if (rest) {
        names.push(rest);
        if (slash) return '(?:(.*)/)?';
        return route.greedy ? '(.+)' : '(.*[^/])';
      }
      if (one) {
        names.push(one);
        return '([^/]+)';
      }
      return `\\${m}`;
    },
  );
  const result = { regex: new RegExp(`^${source}$`), names };
  compiled.set(route, result);
  return result;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
  /** False when the path exists but not for this method. */
  methodAllowed: boolean;
}

/** The first route of `scope` whose pattern matches `relative`, preferring one that takes `method`. */
export function matchRoute(
  routes: Route[],
  scope: Scope,
  relative: string,
  method: VaultMethod,
): Match | undefined {
  let fallback: Match | undefined;
  for (const route of routes) {
    if (route.scope !== scope) continue;
    const { regex, names } = compile(route);
    const found = regex.exec(relative);
    if (!found) continue;
    const params = Object.fromEntries(names.map((name, i) => [name, found[i + 1] ?? '']));
    const allowed = route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
    if (allowed) return { route, params, methodAllowed: true };
    fallback ??= { route, params, methodAllowed: false };
  }
  return fallback;
}

/** The capability Vault's ACL requires for this method on this route. */
export function requiredCapability(route: Route, ctx: RequestContext): Capability {
  switch (ctx.method) {
    case 'GET':
    case 'HEAD':
      return 'read';
    case 'LIST':
      return 'list';
    case 'DELETE':
      return 'delete';
    case 'PATCH':
      return 'patch';
    case 'POST':
    case 'PUT':
      return route.exists && !route.exists(ctx) ? 'create' : 'update';
  }
}

export function stringField(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value : '';
}

/** Vault's comma-string-or-list fields (TypeCommaStringSlice). */
export function listField(body: Record<string, unknown>, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value : String(value).split(',');
  return items.map((item) => String(item).trim()).filter((item) => item !== '');
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Vault's TypeInt fields: a number or a numeric string. */
export function intField(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n)) {
    throw badRequest(
      `error converting input ${JSON.stringify(value)} for field "${key}": cannot parse as int`,
    );
  }
  return n;
}

export function boolField(body: Record<string, unknown>, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw badRequest(
    `error converting input ${JSON.stringify(value)} for field "${key}": cannot parse as bool`,
  );
}
