import { parseDurationSeconds } from './durations.js';
import { badRequest, notFound } from './errors.js';
import { uuid } from './ids.js';
import { noContent, ok } from './response.js';
import type { VaultResponse } from './response.js';
import { boolField, intField, listField, stringField } from './routes.js';
import type { RequestContext, Route } from './routes.js';
import type { AppRole, Namespace } from './state.js';
import { authBlock, issueToken } from './tokens.js';

const MOUNT_TYPE = 'approle';
// Vault answers an unknown role_id and a wrong secret_id alike, so neither can be probed.
const INVALID_CREDENTIALS = 'invalid role or secret ID';

const roleName = (ctx: RequestContext): string => (ctx.params['role_name'] ?? '').toLowerCase();

function roleOf(ctx: RequestContext): AppRole {
  const role = ctx.ns.appRoles.get(roleName(ctx));
  if (!role) throw badRequest(`role "${roleName(ctx)}" does not exist`);
  return role;
}

function writeRole(ctx: RequestContext): VaultResponse {
  const existing = ctx.ns.appRoles.get(roleName(ctx));
  const ttl = ctx.body['token_ttl'] ?? ctx.body['ttl'];
  const secretIdTtl = ctx.body['secret_id_ttl'];
  ctx.ns.appRoles.set(roleName(ctx), {
    roleId: stringField(ctx.body, 'role_id') || existing?.roleId || uuid(),
    policies:
      listField(ctx.body, 'token_policies') ?? listField(ctx.body, 'policies') ?? existing?.policies ?? [],
    ttlSeconds: ttl === undefined ? (existing?.ttlSeconds ?? 0) : parseDurationSeconds(ttl, 'token_ttl'),
    bindSecretId: boolField(ctx.body, 'bind_secret_id') ?? existing?.bindSecretId ?? true,
    secretIdTtlSeconds:
      secretIdTtl === undefined
        ? (existing?.secretIdTtlSeconds ?? 0)
        : parseDurationSeconds(secretIdTtl, 'secret_id_ttl'),
    secretIdNumUses: intField(ctx.body, 'secret_id_num_uses') ?? existing?.secretIdNumUses ?? 0,
    secretIds: existing?.secretIds ?? new Map(),
  });
  return noContent();
}

function readRole(ctx: RequestContext): VaultResponse {
  const role = ctx.ns.appRoles.get(roleName(ctx));
  if (!role) throw notFound();
  return ok({
    data: {
      bind_secret_id: role.bindSecretId,
      policies: role.policies,
      token_policies: role.policies,
      secret_id_num_uses: role.secretIdNumUses,
      secret_id_ttl: role.secretIdTtlSeconds,
      token_ttl: role.ttlSeconds,
      token_type: 'default',
    },
    mountType: MOUNT_TYPE,
  });
}

function deleteRole(ctx: RequestContext): VaultResponse {
  ctx.ns.appRoles.delete(roleName(ctx));
  return noContent();
}

function listRoles(ctx: RequestContext): VaultResponse {
  const keys = [...ctx.ns.appRoles.keys()].sort();
  if (keys.length === 0) throw notFound();
  return ok({ data: { keys }, mountType: MOUNT_TYPE });
}

function readRoleId(ctx: RequestContext): VaultResponse {
  return ok({ data: { role_id: roleOf(ctx).roleId }, mountType: MOUNT_TYPE });
}

function writeRoleId(ctx: RequestContext): VaultResponse {
  const roleId = stringField(ctx.body, 'role_id');
  if (roleId === '') throw badRequest('missing role_id');
  roleOf(ctx).roleId = roleId;
  return noContent();
}

function createSecretId(ctx: RequestContext): VaultResponse {
  const role = roleOf(ctx);
  const secretId = uuid();
  const accessor = uuid();
  const ttl = role.secretIdTtlSeconds;
  role.secretIds.set(secretId, {
    accessor,
    expiresAt: ttl === 0 ? undefined : Date.now() + ttl * 1000,
    usesLeft: role.secretIdNumUses === 0 ? undefined : role.secretIdNumUses,
  });
  return ok({
    data: {
      secret_id: secretId,
      secret_id_accessor: accessor,
      secret_id_num_uses: role.secretIdNumUses,
      secret_id_ttl: ttl,
    },
    mountType: MOUNT_TYPE,
  });
}

function findByRoleId(ns: Namespace, roleId: string): [string, AppRole] | undefined {
  return [...ns.appRoles].find(([, role]) => role.roleId === roleId);
}

/** Checks and spends one use of a secret_id; expired or used-up ones are forgotten. */
function consumeSecretId(role: AppRole, secretId: string): boolean {
  const entry = role.secretIds.get(secretId);
  if (!entry) return false;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    role.secretIds.delete(secretId);
    return false;
  }
  if (entry.usesLeft !== undefined) {
    entry.usesLeft -= 1;
    if (entry.usesLeft <= 0) role.secretIds.delete(secretId);
  }
  return true;
}

function login(ctx: RequestContext): VaultResponse {
  const roleId = stringField(ctx.body, 'role_id');
  if (roleId === '') throw badRequest('missing role_id');
  const found = findByRoleId(ctx.ns, roleId);
  if (!found) throw badRequest(INVALID_CREDENTIALS);
  const [name, role] = found;
  if (role.bindSecretId) {
    const secretId = stringField(ctx.body, 'secret_id');
    if (secretId === '') throw badRequest('missing secret_id');
    if (!consumeSecretId(role, secretId)) throw badRequest(INVALID_CREDENTIALS);
  }
  const metadata = { role_name: name };
  const token = issueToken(ctx.ns, {
    policies: role.policies,
    ttlSeconds: role.ttlSeconds,
    orphan: true,
    path: 'auth/approle/login',
    displayName: 'approle',
    meta: metadata,
  });
  return ok({ data: {}, auth: authBlock(token, metadata), mountType: MOUNT_TYPE });
}

const approle = (route: Omit<Route, 'scope' | 'access' | 'op'>): Route => ({
  scope: 'approle',
  access: 'acl',
  op: 'sys',
  ...route,
});

export const APPROLE_ROUTES: Route[] = [
  {
    scope: 'approle',
    pattern: 'login',
    methods: ['POST', 'PUT'],
    op: 'login',
    access: 'public',
    handle: login,
  },
  approle({ pattern: 'role/', methods: ['LIST'], handle: listRoles }),
  approle({ pattern: 'role/{role_name}', methods: ['GET'], handle: readRole }),
  approle({
    pattern: 'role/{role_name}',
    methods: ['POST', 'PUT'],
    exists: (ctx) => ctx.ns.appRoles.has(roleName(ctx)),
    handle: writeRole,
  }),
  approle({ pattern: 'role/{role_name}', methods: ['DELETE'], handle: deleteRole }),
  approle({ pattern: 'role/{role_name}/role-id', methods: ['GET'], handle: readRoleId }),
  approle({ pattern: 'role/{role_name}/role-id', methods: ['POST', 'PUT'], handle: writeRoleId }),
  approle({ pattern: 'role/{role_name}/secret-id', methods: ['POST', 'PUT'], handle: createSecretId }),
];
