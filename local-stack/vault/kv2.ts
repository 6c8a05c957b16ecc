import { badRequest, notFound, VaultHttpError } from './errors.js';
import {
  addVersion,
  checkCas,
  customMetadata,
  isGone,
  listKeys,
  newSecret,
  now,
  versionMetadata,
} from './kv2-store.js';
import { noContent, ok } from './response.js';
import type { VaultResponse } from './response.js';
import { boolField, intField, isRecord } from './routes.js';
import type { RequestContext, Route } from './routes.js';
import type { KvMount, KvSecret } from './state.js';

const MOUNT_TYPE = 'kv';

function mountOf(ctx: RequestContext): KvMount {
  if (!ctx.mount) throw new VaultHttpError(500, ['internal error: kv route without a mount']);
  return ctx.mount;
}

const secretOf = (ctx: RequestContext): KvSecret | undefined => mountOf(ctx).v2.get(ctx.params['path'] ?? '');
const exists = (ctx: RequestContext): boolean => secretOf(ctx) !== undefined;

function readData(ctx: RequestContext): VaultResponse {
  const secret = secretOf(ctx);
  if (!secret) throw notFound();
  const requested = intField(Object.fromEntries(ctx.query), 'version') ?? 0;
  const number = requested > 0 ? requested : secret.currentVersion;
  const version = secret.versions.get(number);
  if (!version) throw notFound();
  const gone = isGone(version);
  const metadata = { ...versionMetadata(version), custom_metadata: secret.customMetadata, version: number };
  // Vault answers a deleted or destroyed version with 404 and the full envelope holding its metadata.
  return ok(
    { data: { data: gone ? null : version.data, metadata }, mountType: MOUNT_TYPE },
    gone ? 404 : 200,
  );
}

function writeData(ctx: RequestContext): VaultResponse {
  const mount = mountOf(ctx);
  const key = ctx.params['path'] ?? '';
  const data = ctx.body['data'];
  if (!isRecord(data)) throw badRequest('no data provided');
  const secret = mount.v2.get(key) ?? newSecret();
  checkCas(mount, secret, ctx.body['options']);
  const version = addVersion(mount, key, secret, data);
  return ok({
    data: {
      ...versionMetadata(version),
      custom_metadata: secret.customMetadata,
      version: secret.currentVersion,
    },
    mountType: MOUNT_TYPE,
  });
}

function requireMergePatch(ctx: RequestContext): void {
  const type = ctx.headers['content-type'] ?? '';
  if (!type.startsWith('application/merge-patch+json')) {
    throw new VaultHttpError(415, [
      `PATCH requires Content-Type of application/merge-patch+json, provided ${type}`,
    ]);
  }
}

/** RFC 7396 JSON merge patch, which Vault applies to the current version on PATCH. */
function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged = Object.entries({ ...target, ...patch }).map(([key, value]): [string, unknown] => {
    const current = target[key];
    return [key, isRecord(value) && isRecord(current) ? mergePatch(current, value) : value];
  });
  return Object.fromEntries(merged.filter(([key]) => patch[key] !== null));
}

function patchData(ctx: RequestContext): VaultResponse {
  requireMergePatch(ctx);
  const mount = mountOf(ctx);
  const patch = ctx.body['data'];
  if (!isRecord(patch)) throw badRequest('no data provided');
  const secret = secretOf(ctx);
  const current = secret?.versions.get(secret.currentVersion);
  if (!secret || !current) throw notFound();
  checkCas(mount, secret, ctx.body['options']);
  if (isGone(current)) throw notFound();
  const version = addVersion(mount, ctx.params['path'] ?? '', secret, mergePatch(current.data ?? {}, patch));
  return ok({
    data: {
      ...versionMetadata(version),
      custom_metadata: secret.customMetadata,
      version: secret.currentVersion,
    },
    mountType: MOUNT_TYPE,
  });
}

function deleteLatest(ctx: RequestContext): VaultResponse {
  const secret = secretOf(ctx);
  const version = secret?.versions.get(secret.currentVersion);
  if (version && !isGone(version)) version.deletionTime = now();
  return noContent();
}

function versionsParam(ctx: RequestContext): number[] {
  const raw = ctx.body['versions'];
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
  const versions = items.map((item) => Number(item)).filter((n) => Number.isInteger(n) && n > 0);
  if (versions.length === 0) throw badRequest('no version number provided');
  return versions;
}

function updateVersions(action: 'delete' | 'undelete' | 'destroy'): (ctx: RequestContext) => VaultResponse {
  return (ctx) => {
    const versions = versionsParam(ctx);
    const secret = secretOf(ctx);
    for (const number of versions) {
      const version = secret?.versions.get(number);
      if (!version || version.destroyed) continue;
      if (action === 'delete' && version.deletionTime === '') version.deletionTime = now();
      if (action === 'undelete') version.deletionTime = '';
      if (action === 'destroy') {
        version.destroyed = true;
        version.data = null;
      }
    }
    return noContent();
  };
}

function readMetadata(ctx: RequestContext): VaultResponse {
  const secret = secretOf(ctx);
  if (!secret) throw notFound();
  const versions = Object.fromEntries([...secret.versions].map(([n, v]) => [String(n), versionMetadata(v)]));
  return ok({
    data: {
      cas_required: secret.casRequired,
      created_time: secret.createdTime,
      current_version: secret.currentVersion,
      custom_metadata: secret.customMetadata,
      delete_version_after: '0s',
      max_versions: secret.maxVersions,
      oldest_version: secret.oldestVersion,
      updated_time: secret.updatedTime,
      versions,
    },
    mountType: MOUNT_TYPE,
  });
}

function writeMetadata(patch: boolean): (ctx: RequestContext) => VaultResponse {
  return (ctx) => {
    if (patch) requireMergePatch(ctx);
    const mount = mountOf(ctx);
    const key = ctx.params['path'] ?? '';
    const existing = mount.v2.get(key);
    if (patch && !existing) throw notFound();
    const secret = existing ?? newSecret();
    const maxVersions = intField(ctx.body, 'max_versions');
    const casRequired = boolField(ctx.body, 'cas_required');
    if (maxVersions !== undefined) secret.maxVersions = maxVersions;
    if (casRequired !== undefined) secret.casRequired = casRequired;
    if ('custom_metadata' in ctx.body) {
      const incoming = ctx.body['custom_metadata'];
      secret.customMetadata = patch
        ? patchCustomMetadata(secret.customMetadata, incoming)
        : customMetadata(incoming);
    }
    secret.updatedTime = now();
    mount.v2.set(key, secret);
    return noContent();
  };
}

function patchCustomMetadata(
  current: Record<string, string> | null,
  patch: unknown,
): Record<string, string> | null {
  if (!isRecord(patch)) return current;
  const merged = mergePatch(current ?? {}, patch);
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, String(v)]));
}

function deleteMetadata(ctx: RequestContext): VaultResponse {
  mountOf(ctx).v2.delete(ctx.params['path'] ?? '');
  return noContent();
}

function listMetadata(ctx: RequestContext): VaultResponse {
  const folder = ctx.params['path'] ?? '';
  const keys = listKeys(mountOf(ctx).v2.keys(), folder === '' ? '' : `${folder}/`);
  if (keys.length === 0) throw notFound();
  return ok({ data: { keys }, mountType: MOUNT_TYPE });
}

function readConfig(ctx: RequestContext): VaultResponse {
  const mount = mountOf(ctx);
  return ok({
    data: { cas_required: mount.casRequired, delete_version_after: '0s', max_versions: mount.maxVersions },
    mountType: MOUNT_TYPE,
  });
}

function writeConfig(ctx: RequestContext): VaultResponse {
  const mount = mountOf(ctx);
  mount.maxVersions = intField(ctx.body, 'max_versions') ?? mount.maxVersions;
  mount.casRequired = boolField(ctx.body, 'cas_required') ?? mount.casRequired;
  return noContent();
}

const kv2 = (route: Omit<Route, 'scope' | 'access'>): Route => ({ scope: 'kv2', access: 'acl', ...route });

/** The KV version 2 engine's endpoints (hashicorp/vault-plugin-secrets-kv path_data.go, path_metadata.go, …). */
export const KV2_ROUTES: Route[] = [
  kv2({ pattern: 'data/{path}', methods: ['GET'], op: 'kv-read', handle: readData }),
  kv2({ pattern: 'data/{path}', methods: ['POST', 'PUT'], op: 'kv-write', exists, handle: writeData }),
  kv2({ pattern: 'data/{path}', methods: ['PATCH'], op: 'kv-write', handle: patchData }),
  kv2({ pattern: 'data/{path}', methods: ['DELETE'], op: 'kv-delete', handle: deleteLatest }),
  kv2({
    pattern: 'delete/{path}',
    methods: ['POST', 'PUT'],
    op: 'kv-delete',
    handle: updateVersions('delete'),
  }),
  kv2({
    pattern: 'undelete/{path}',
    methods: ['POST', 'PUT'],
    op: 'kv-delete',
    handle: updateVersions('undelete'),
  }),
  kv2({
    pattern: 'destroy/{path}',
    methods: ['POST', 'PUT'],
    op: 'kv-delete',
    handle: updateVersions('destroy'),
  }),
  kv2({ pattern: 'metadata/{path}/', methods: ['LIST'], op: 'kv-metadata', handle: listMetadata }),
  kv2({ pattern: 'metadata/{path}', methods: ['GET'], op: 'kv-metadata', handle: readMetadata }),
  kv2({
    pattern: 'metadata/{path}',
    methods: ['POST', 'PUT'],
    op: 'kv-metadata',
    exists,
    handle: writeMetadata(false),
  }),
  kv2({ pattern: 'metadata/{path}', methods: ['PATCH'], op: 'kv-metadata', handle: writeMetadata(true) }),
  kv2({ pattern: 'metadata/{path}', methods: ['DELETE'], op: 'kv-delete', handle: deleteMetadata }),
  kv2({ pattern: 'config', methods: ['GET'], op: 'sys', handle: readConfig }),
  kv2({ pattern: 'config', methods: ['POST', 'PUT'], op: 'sys', handle: writeConfig }),
];
