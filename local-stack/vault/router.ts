import type { IncomingHttpHeaders } from 'node:http';
import type { FaultAction, Traffic } from '../traffic.js';
import { APPROLE_ROUTES } from './auth-approle.js';
import { AWS_ROUTES } from './auth-aws.js';
import { TOKEN_ROUTES } from './auth-token.js';
import { badRequest, noHandler, permissionDenied, unsupportedOperation, VaultHttpError } from './errors.js';
import { KV1_ROUTES } from './kv1.js';
import { KV2_ROUTES } from './kv2.js';
import type { VaultResponse } from './response.js';
import { isRecord, matchRoute, requiredCapability, SCOPE_ROOT } from './routes.js';
import type { Match, RequestContext, Route, Scope, TrafficOp, VaultMethod } from './routes.js';
import type { KvMount, Namespace, VaultState } from './state.js';
import { ROOT_NAMESPACE } from './state.js';
import { assertUnsealed, SYS_ROUTES } from './sys.js';
import { authenticate } from './tokens.js';

/** Every route the emulator serves; the contract test checks each against Vault's OpenAPI document. */
export const ROUTES: Route[] = [
  ...SYS_ROUTES,
  ...TOKEN_ROUTES,
  ...AWS_ROUTES,
  ...APPROLE_ROUTES,
  ...KV2_ROUTES,
  ...KV1_ROUTES,
];

export interface RawRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the server does with the socket: answer, never answer, or drop it. */
export type Outcome = { kind: 'respond'; response: VaultResponse } | { kind: 'hang' } | { kind: 'drop' };

export interface RouterDeps {
  state: VaultState;
  traffic: Traffic;
  stsEndpoint: string;
}

interface Resolved {
  ns: Namespace | undefined;
  path: string;
  method: VaultMethod | undefined;
  scope: Scope | undefined;
  mount: KvMount | undefined;
  match: Match | undefined;
}

const METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function vaultMethod(method: string, query: URLSearchParams): VaultMethod | undefined {
  if (!METHODS.includes(method)) return undefined;
  // Vault turns `GET ?list=true` into a LIST operation; Node's HTTP parser cannot receive a raw LIST.
  if (method === 'GET' && query.get('list') === 'true') return 'LIST';
  return method as VaultMethod;
}

function splitNamespace(
  state: VaultState,
  headers: IncomingHttpHeaders,
  path: string,
): [Namespace | undefined, string] {
  const header = String(headers['x-vault-namespace'] ?? '').replace(/^\/+|\/+$/g, '');
  if (header !== '' && header !== ROOT_NAMESPACE) return [state.namespaces.get(header), path];
  const [first = '', ...rest] = path.split('/');
  const prefixed = first !== ROOT_NAMESPACE ? state.namespaces.get(first) : undefined;
  return prefixed && rest.length > 0 ? [prefixed, rest.join('/')] : [state.root(), path];
}

function resolve(state: VaultState, raw: RawRequest, url: URL): Resolved {
  const method = vaultMethod(raw.method, url.searchParams);
  const decoded = decodeURIComponent(url.pathname.slice('/v1/'.length));
  const [ns, inner] = splitNamespace(state, raw.headers, decoded);
  const path = method === 'LIST' && !inner.endsWith('/') ? `${inner}/` : inner;
  const empty = { ns, path, method, scope: undefined, mount: undefined, match: undefined };
  if (!ns || !method) return empty;
  const fixed = (Object.entries(SCOPE_ROOT) as [Scope, string][]).find(([, root]) => path.startsWith(root));
  const mount = fixed ? undefined : state.mountFor(ns, path);
  const scope: Scope | undefined = fixed?.[0] ?? (mount ? (mount.version === 2 ? 'kv2' : 'kv1') : undefined);
  if (!scope) return empty;
  const relative = path.slice(fixed ? fixed[1].length : (mount?.path.length ?? 0));
  return { ns, path, method, scope, mount, match: matchRoute(ROUTES, scope, relative, method) };
}

function token(headers: IncomingHttpHeaders): string | undefined {
  const direct = headers['x-vault-token'];
  if (typeof direct === 'string' && direct !== '') return direct;
  const bearer = /^Bearer\s+(.+)$/i.exec(headers['authorization'] ?? '')?.[1];
  return bearer?.trim();
}

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badRequest(`failed to parse JSON input: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isRecord(parsed)) throw badRequest('failed to parse JSON input: expected a JSON object');
  return parsed;
}

/** Vault's parseQuery: what a GET carries as request data (one value: a string; more: a list). */
function queryData(query: URLSearchParams): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const name of new Set(query.keys())) {
    if (name === 'help') continue;
    const values = query.getAll(name);
    data[name] = values.length === 1 ? values[0] : values;
  }
  return data;
}

async function serve(
  deps: RouterDeps,
  raw: RawRequest,
  url: URL,
  resolved: Resolved,
): Promise<VaultResponse> {
  const { ns, method, match } = resolved;
  if (!ns) throw noHandler(resolved.path);
  assertUnsealed(deps.state, match?.route);
  if (!method) throw unsupportedOperation();
  const ctx: RequestContext = {
    state: deps.state,
    ns,
    method,
    path: resolved.path,
    params: match?.params ?? {},
    query: url.searchParams,
    body: parseBody(raw.body),
    headers: raw.headers,
    mount: resolved.mount,
    caller: undefined,
    stsEndpoint: deps.stsEndpoint,
  };
  const route = match?.route;
  if (route?.access !== 'public') ctx.caller = authenticate(deps.state, ns, token(raw.headers));
  if (!route || route.access === 'acl') {
    const capability = route ? requiredCapability(route, ctx) : method === 'LIST' ? 'list' : 'read';
    const caller = ctx.caller;
    const data = method === 'GET' || method === 'HEAD' ? queryData(url.searchParams) : ctx.body;
    if (!caller?.acl.allows(`${caller.aclPrefix}${resolved.path}`, capability, data))
      throw permissionDenied();
  }
  if (!route) {
    if (resolved.scope === 'kv2') {
      throw new VaultHttpError(404, [
        'Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use.',
      ]);
    }
    throw noHandler(resolved.path);
  }
  if (!match?.methodAllowed) throw unsupportedOperation();
  return route.handle(ctx);
}

function errorResponse(error: unknown): VaultResponse {
  if (error instanceof VaultHttpError) return { status: error.status, body: { errors: error.errors } };
  return { status: 500, body: { errors: [error instanceof Error ? error.message : String(error)] } };
}

const FAULT_MESSAGES: Record<number, string> = {
  400: 'invalid request',
  403: 'permission denied',
  404: 'not found',
  412: 'required index state not present',
  429: 'request path "fault": rate limit quota exceeded',
  500: 'internal error',
  503: 'Vault is sealed',
};

function faultOutcome(action: Exclude<FaultAction, { kind: 'after-commit' }>): Outcome {
  switch (action.kind) {
    case 'status':
      return {
        kind: 'respond',
        response: {
          status: action.status,
          body: { errors: [FAULT_MESSAGES[action.status] ?? `HTTP ${action.status}`] },
        },
      };
    case 'code':
      return { kind: 'respond', response: { status: 400, body: { errors: [action.code] } } };
    case 'timeout':
      return { kind: 'hang' };
    case 'reset':
      return { kind: 'drop' };
  }
}

/** Runs one `/v1/` request through namespace, fault injection, seal, token, ACL and the handler. */
export async function handleVaultRequest(deps: RouterDeps, raw: RawRequest): Promise<Outcome> {
  const url = new URL(raw.url, 'http://vault.invalid');
  if (!url.pathname.startsWith('/v1/'))
    return { kind: 'respond', response: { status: 404, body: { errors: [] } } };
  const resolved = resolve(deps.state, raw, url);
  const op: TrafficOp = resolved.match?.route.op ?? 'sys';
  const fault = deps.traffic.intercept('vault', op);
  if (fault && fault.kind !== 'after-commit') return faultOutcome(fault);
  let response: VaultResponse;
  try {
    response = await serve(deps, raw, url, resolved);
  } catch (error) {
    response = errorResponse(error);
  }
  return fault?.kind === 'after-commit' ? { kind: 'drop' } : { kind: 'respond', response };
}
