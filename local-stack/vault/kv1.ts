import { badRequest, notFound } from './errors.js';
import { listKeys } from './kv2-store.js';
import { noContent, ok } from './response.js';
import type { VaultResponse } from './response.js';
import type { RequestContext, Route } from './routes.js';
import { DEFAULT_TOKEN_TTL_SECONDS } from './tokens.js';

const MOUNT_TYPE = 'kv';

function store(ctx: RequestContext): Map<string, Record<string, unknown>> {
  return ctx.mount?.v1 ?? new Map();
}

const key = (ctx: RequestContext): string => ctx.params['path'] ?? '';

function read(ctx: RequestContext): VaultResponse {
  const data = store(ctx).get(key(ctx));
  if (!data) throw notFound();
  // KV v1 reads carry the mount's default lease (768h) as a refresh hint.
  return ok({ data, leaseDuration: DEFAULT_TOKEN_TTL_SECONDS, mountType: MOUNT_TYPE });
}

function write(ctx: RequestContext): VaultResponse {
  if (Object.keys(ctx.body).length === 0) throw badRequest('data must be provided to store in secret');
  // Vault keeps the value as a Go map, which it returns with its keys sorted.
  store(ctx).set(key(ctx), Object.fromEntries(Object.entries(ctx.body).sort(([a], [b]) => (a < b ? -1 : 1))));
  return noContent();
}

function remove(ctx: RequestContext): VaultResponse {
  store(ctx).delete(key(ctx));
  return noContent();
}

function list(ctx: RequestContext): VaultResponse {
  const folder = key(ctx);
  const keys = listKeys(store(ctx).keys(), folder === '' ? '' : `${folder}/`);
  if (keys.length === 0) throw notFound();
  return ok({ data: { keys }, mountType: MOUNT_TYPE });
}

const kv1 = (route: Omit<Route, 'scope' | 'access'>): Route => ({ scope: 'kv1', access: 'acl', ...route });

/** The KV version 1 (passthrough) engine's endpoints. */
export const KV1_ROUTES: Route[] = [
  kv1({ pattern: '{path}/', methods: ['LIST'], op: 'kv-read', handle: list }),
  kv1({ pattern: '{path}', methods: ['GET'], op: 'kv-read', handle: read }),
  kv1({
    pattern: '{path}',
    methods: ['POST', 'PUT'],
    op: 'kv-write',
    exists: (ctx) => store(ctx).has(key(ctx)),
    handle: write,
  }),
  kv1({ pattern: '{path}', methods: ['DELETE'], op: 'kv-delete', handle: remove }),
];
