import { parseDurationSeconds } from './durations.js';
import { badRequest, VaultHttpError } from './errors.js';
import { noContent, ok } from './response.js';
import type { VaultResponse } from './response.js';
import { boolField, isRecord, listField, stringField } from './routes.js';
import type { RequestContext, Route } from './routes.js';
import type { Token } from './state.js';
import { ROOT_NAMESPACE } from './state.js';
import { authBlock, issueToken, lookupData } from './tokens.js';

const MOUNT_TYPE = 'token';

function callerToken(ctx: RequestContext): Token {
  if (!ctx.caller) throw new VaultHttpError(500, ['internal error: token route without a caller']);
  return ctx.caller.token;
}

function create(ctx: RequestContext): VaultResponse {
  const parent = callerToken(ctx);
  const parentIsRoot = parent.policies.includes('root');
  const requested = listField(ctx.body, 'policies') ?? parent.policies.filter((p) => p !== 'default');
  // Vault: a non-root parent may only hand out policies it holds itself.
  if (!parentIsRoot && requested.some((p) => p !== 'default' && !parent.policies.includes(p))) {
    throw badRequest('child policies must be subset of parent');
  }
  const meta = ctx.body['meta'];
  const displayName = stringField(ctx.body, 'display_name');
  const token = issueToken(ctx.ns, {
    policies: requested,
    ttlSeconds: parseDurationSeconds(ctx.body['ttl'], 'ttl'),
    noDefaultPolicy: boolField(ctx.body, 'no_default_policy') ?? false,
    renewable: boolField(ctx.body, 'renewable') ?? true,
    orphan: boolField(ctx.body, 'no_parent') ?? false,
    displayName: displayName === '' ? 'token' : `token-${displayName}`,
    meta: isRecord(meta) ? Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)])) : null,
  });
  return ok({ auth: authBlock(token), mountType: MOUNT_TYPE });
}

function lookupSelf(ctx: RequestContext): VaultResponse {
  const namespacePath = ctx.ns.name === ROOT_NAMESPACE ? '' : `${ctx.ns.name}/`;
  return ok({ data: lookupData(callerToken(ctx), namespacePath), mountType: MOUNT_TYPE });
}

function renewSelf(ctx: RequestContext): VaultResponse {
  const token = callerToken(ctx);
  if (token.ttlSeconds !== 0) {
    if (!token.renewable) throw badRequest('lease is not renewable');
    const increment = parseDurationSeconds(ctx.body['increment'], 'increment') || token.ttlSeconds;
    token.ttlSeconds = increment;
    token.expiresAt = Date.now() + increment * 1000;
  }
  return ok({ auth: authBlock(token), mountType: MOUNT_TYPE });
}

function revokeSelf(ctx: RequestContext): VaultResponse {
  const token = callerToken(ctx);
  ctx.state.namespace(token.namespace).tokens.delete(token.id);
  return noContent();
}

const auth = (route: Omit<Route, 'scope' | 'access'>): Route => ({ scope: 'token', access: 'acl', ...route });

export const TOKEN_ROUTES: Route[] = [
  auth({ pattern: 'create', methods: ['POST', 'PUT'], op: 'sys', handle: create }),
  auth({ pattern: 'lookup-self', methods: ['GET', 'POST', 'PUT'], op: 'token', handle: lookupSelf }),
  auth({ pattern: 'renew-self', methods: ['POST', 'PUT'], op: 'token', handle: renewSelf }),
  auth({ pattern: 'revoke-self', methods: ['POST', 'PUT'], op: 'sys', handle: revokeSelf }),
];
