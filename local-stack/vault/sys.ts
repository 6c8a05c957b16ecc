import { badRequest, notFound, sealed, VaultEmulatorUsageError, VaultHttpError } from './errors.js';
import { PolicyParseError } from './hcl.js';
import { parsePolicy } from './policy.js';
import { envelope, noContent, ok } from './response.js';
import type { VaultResponse } from './response.js';
import { isRecord, stringField } from './routes.js';
import type { RequestContext, Route } from './routes.js';
import { newMount, normaliseMountPath, ROOT_NAMESPACE } from './state.js';
import type { KvMount, VaultState } from './state.js';

/** The version the emulator reports; Enterprise because namespaces are an Enterprise feature. */
export const VAULT_VERSION = '1.19.0+ent';

function statusCode(query: URLSearchParams, name: string, fallback: number): number {
  const value = Number(query.get(name));
  return Number.isInteger(value) && value >= 200 && value <= 599 ? value : fallback;
}

function health(ctx: RequestContext): VaultResponse {
  const { state } = ctx;
  const body = {
    initialized: true,
    sealed: state.sealed,
    standby: state.sealed,
    performance_standby: false,
    replication_performance_mode: state.sealed ? 'unknown' : 'disabled',
    replication_dr_mode: state.sealed ? 'unknown' : 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: VAULT_VERSION,
    enterprise: true,
    ...(state.sealed ? {} : { cluster_name: state.clusterName, cluster_id: state.clusterId }),
  };
  const status = state.sealed
    ? statusCode(ctx.query, 'sealedcode', 503)
    : statusCode(ctx.query, 'activecode', 200);
  return { status, body: ctx.method === 'HEAD' ? undefined : body };
}

function sealStatus(ctx: RequestContext): VaultResponse {
  const { state } = ctx;
  return {
    status: 200,
    body: {
      type: 'shamir',
      initialized: true,
      sealed: state.sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: VAULT_VERSION,
      build_date: '2025-03-04T00:00:00Z',
      migration: false,
      recovery_seal: false,
      storage_type: 'inmem',
      ...(state.sealed ? {} : { cluster_name: state.clusterName, cluster_id: state.clusterId }),
    },
  };
}

export function mountInfo(mount: KvMount): Record<string, unknown> {
  return {
    accessor: mount.accessor,
    config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
    description: mount.version === 2 ? 'key/value secret storage' : '',
    external_entropy_access: false,
    local: false,
    options: { version: String(mount.version) },
    plugin_version: '',
    running_plugin_version: 'v0.21.0+builtin',
    running_sha256: '',
    seal_wrap: false,
    type: 'kv',
    uuid: mount.uuid,
  };
}

function uiMount(ctx: RequestContext): VaultResponse {
  const raw = ctx.params['path'] ?? '';
  const path = raw.endsWith('/') ? raw : `${raw}/`;
  const denied = new VaultHttpError(403, [
    `preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`,
  ]);
  const mount = ctx.state.mountFor(ctx.ns, path);
  // Vault denies unknown mounts too, so the endpoint cannot be used to enumerate them.
  if (!mount || !ctx.caller) throw denied;
  if (!ctx.caller.acl.hasMountAccess(`${ctx.caller.aclPrefix}${mount.path}`)) throw denied;
  return ok({ data: { ...mountInfo(mount), path: mount.path }, mountType: 'system' });
}

function listMounts(ctx: RequestContext): VaultResponse {
  const mounts = Object.fromEntries([...ctx.ns.mounts.values()].map((m) => [m.path, mountInfo(m)]));
  // sys/mounts repeats the mount table at the top level for pre-0.6 clients.
  return { status: 200, body: { ...mounts, ...envelope({ data: mounts, mountType: 'system' }) } };
}

function mountPathParam(ctx: RequestContext): string {
  try {
    return normaliseMountPath(ctx.params['path'] ?? '');
  } catch (error) {
    if (error instanceof VaultEmulatorUsageError) throw badRequest(error.message);
    throw error;
  }
}

function readMount(ctx: RequestContext): VaultResponse {
  const mount = ctx.ns.mounts.get(mountPathParam(ctx));
  if (!mount) throw badRequest(`No secret engine mount at ${mountPathParam(ctx)}`);
  return ok({ data: mountInfo(mount), mountType: 'system' });
}

function kvVersion(ctx: RequestContext): 1 | 2 {
  const type = stringField(ctx.body, 'type');
  const options = ctx.body['options'];
  const version = isRecord(options) ? String(options['version'] ?? '') : '';
  if (type === 'kv-v2') return 2;
  if (type !== 'kv') throw badRequest(`plugin not found in the catalog: ${type}`);
  return version === '2' ? 2 : 1;
}

function enableMount(ctx: RequestContext): VaultResponse {
  const path = mountPathParam(ctx);
  if (ctx.ns.mounts.has(path) || ctx.state.mountFor(ctx.ns, path)) {
    throw badRequest(`path is already in use at ${path}`);
  }
  ctx.ns.mounts.set(path, newMount(path, kvVersion(ctx)));
  return noContent();
}

function disableMount(ctx: RequestContext): VaultResponse {
  ctx.ns.mounts.delete(mountPathParam(ctx));
  return noContent();
}

const policyName = (ctx: RequestContext): string => (ctx.params['name'] ?? '').toLowerCase();

function readPolicy(ctx: RequestContext): VaultResponse {
  const policy = ctx.ns.policies.get(policyName(ctx));
  if (!policy) throw notFound();
  return ok({ data: { name: policy.name, policy: policy.hcl }, mountType: 'system' });
}

/** Stores an ACL policy; shared by the HTTP endpoint and the admin API. */
export function putPolicy(state: VaultState, namespace: string | undefined, name: string, hcl: string): void {
  const lower = name.toLowerCase();
  if (lower === 'root') throw badRequest('cannot update root policy');
  try {
    state.namespace(namespace).policies.set(lower, parsePolicy(lower, hcl));
  } catch (error) {
    if (error instanceof PolicyParseError) throw badRequest(`failed to parse policy: ${error.message}`);
    throw error;
  }
}

function writePolicy(ctx: RequestContext): VaultResponse {
  const hcl = stringField(ctx.body, 'policy');
  if (hcl === '') throw badRequest("'policy' parameter not supplied or empty");
  putPolicy(ctx.state, ctx.ns.name, policyName(ctx), hcl);
  return noContent();
}

function deletePolicy(ctx: RequestContext): VaultResponse {
  const name = policyName(ctx);
  if (name === 'root' || name === 'default') throw badRequest(`cannot delete "${name}" policy`);
  ctx.ns.policies.delete(name);
  return noContent();
}

function listPolicies(ctx: RequestContext): VaultResponse {
  const keys = [...new Set([...ctx.ns.policies.keys(), 'root'])].sort();
  return ok({ data: { keys, policies: keys }, mountType: 'system' });
}

/** Namespaces are created from the root namespace only: the emulator has no nested namespaces. */
function createNamespace(ctx: RequestContext): VaultResponse {
  if (ctx.ns.name !== ROOT_NAMESPACE)
    throw badRequest('the emulator supports namespaces in the root namespace only');
  const name = (ctx.params['path'] ?? '').replace(/\/+$/, '');
  try {
    const ns = ctx.state.createNamespace(name);
    return ok({ data: { id: ns.id, path: `${ns.name}/`, custom_metadata: {} }, mountType: 'system' });
  } catch (error) {
    if (error instanceof VaultEmulatorUsageError) throw badRequest(error.message);
    throw error;
  }
}

function readNamespace(ctx: RequestContext): VaultResponse {
  const ns = ctx.state.namespaces.get((ctx.params['path'] ?? '').replace(/\/+$/, ''));
  if (!ns || ns.name === ROOT_NAMESPACE || ctx.ns.name !== ROOT_NAMESPACE) throw notFound();
  return ok({ data: { id: ns.id, path: `${ns.name}/`, custom_metadata: {} }, mountType: 'system' });
}

const sys = (route: Omit<Route, 'scope'>): Route => ({ scope: 'sys', ...route });

export const SYS_ROUTES: Route[] = [
  sys({ pattern: 'health', methods: ['GET'], op: 'health', access: 'public', handle: health }),
  sys({ pattern: 'seal-status', methods: ['GET'], op: 'health', access: 'public', handle: sealStatus }),
  sys({
    pattern: 'internal/ui/mounts/{path}',
    greedy: true,
    methods: ['GET'],
    op: 'mounts',
    access: 'token',
    handle: uiMount,
  }),
  sys({ pattern: 'mounts', methods: ['GET'], op: 'sys', access: 'acl', handle: listMounts }),
  sys({
    pattern: 'namespaces/{path}',
    methods: ['POST', 'PUT'],
    op: 'sys',
    access: 'acl',
    handle: createNamespace,
  }),
  sys({ pattern: 'namespaces/{path}', methods: ['GET'], op: 'sys', access: 'acl', handle: readNamespace }),
  sys({
    pattern: 'mounts/{path}',
    greedy: true,
    methods: ['GET'],
    op: 'sys',
    access: 'acl',
    handle: readMount,
  }),
  sys({
    pattern: 'mounts/{path}',
    greedy: true,
    methods: ['POST', 'PUT'],
    op: 'sys',
    access: 'acl',
    handle: enableMount,
  }),
  sys({
    pattern: 'mounts/{path}',
    greedy: true,
    methods: ['DELETE'],
    op: 'sys',
    access: 'acl',
    handle: disableMount,
  }),
  sys({ pattern: 'policies/acl/', methods: ['LIST'], op: 'sys', access: 'acl', handle: listPolicies }),
  sys({ pattern: 'policies/acl/{name}', methods: ['GET'], op: 'sys', access: 'acl', handle: readPolicy }),
  sys({
    pattern: 'policies/acl/{name}',
    methods: ['POST', 'PUT'],
    op: 'sys',
    access: 'acl',
    handle: writePolicy,
  }),
  sys({
    pattern: 'policies/acl/{name}',
    methods: ['DELETE'],
    op: 'sys',
    access: 'acl',
    handle: deletePolicy,
  }),
];

/** Vault answers every other request of a sealed server with 503. */
export function assertUnsealed(state: VaultState, route: Route | undefined): void {
  if (state.sealed && route?.op !== 'health') throw sealed();
}
