import {
  disallowedAmzHeader,
  IAM_SERVER_ID_HEADER,
  parseLoginRequest,
  serverIdHeaderProblem,
} from './aws-login-request.js';
import { parseDurationSeconds } from './durations.js';
import { badRequest, notFound } from './errors.js';
import { canonicalArn, globbedMatch, IamArnError, parseIamArn } from './iam-arn.js';
import type { IamEntity } from './iam-arn.js';
import { uuid } from './ids.js';
import { noContent, ok } from './response.js';
import type { VaultResponse } from './response.js';
import { boolField, listField, stringField } from './routes.js';
import type { RequestContext, Route } from './routes.js';
import type { AwsRole } from './state.js';
import { getCallerIdentity, StsUpstreamError } from './sts.js';
import type { CallerIdentity } from './sts.js';
import { authBlock, issueToken } from './tokens.js';

const MOUNT_TYPE = 'aws';

function roleName(ctx: RequestContext): string {
  return (ctx.params['role'] ?? '').toLowerCase();
}

function writeRole(ctx: RequestContext): VaultResponse {
  const existing = ctx.ns.awsRoles.get(roleName(ctx));
  const authType = stringField(ctx.body, 'auth_type') || existing?.authType || 'iam';
  if (authType !== 'iam' && authType !== 'ec2') throw badRequest(`unrecognized auth_type: ${authType}`);
  const arns = listField(ctx.body, 'bound_iam_principal_arn') ?? existing?.boundIamPrincipalArns ?? [];
  if (authType === 'iam' && arns.length === 0) {
    throw badRequest('at least one bound parameter should be specified on the role');
  }
  const ttl = ctx.body['token_ttl'] ?? ctx.body['ttl'];
  const maxTtl = ctx.body['token_max_ttl'] ?? ctx.body['max_ttl'];
  const role: AwsRole = {
    authType,
    boundIamPrincipalArns: arns,
    policies:
      listField(ctx.body, 'token_policies') ?? listField(ctx.body, 'policies') ?? existing?.policies ?? [],
    ttlSeconds: ttl === undefined ? (existing?.ttlSeconds ?? 0) : parseDurationSeconds(ttl, 'token_ttl'),
    maxTtlSeconds:
      maxTtl === undefined ? (existing?.maxTtlSeconds ?? 0) : parseDurationSeconds(maxTtl, 'token_max_ttl'),
    roleId: existing?.roleId ?? uuid(),
    resolveAwsUniqueIds:
      boolField(ctx.body, 'resolve_aws_unique_ids') ?? existing?.resolveAwsUniqueIds ?? true,
  };
  ctx.ns.awsRoles.set(roleName(ctx), role);
  return noContent();
}

function readRole(ctx: RequestContext): VaultResponse {
  const role = ctx.ns.awsRoles.get(roleName(ctx));
  if (!role) throw notFound();
  return ok({
    data: {
      auth_type: role.authType,
      bound_iam_principal_arn: role.boundIamPrincipalArns,
      policies: role.policies,
      token_policies: role.policies,
      ttl: role.ttlSeconds,
      token_ttl: role.ttlSeconds,
      max_ttl: role.maxTtlSeconds,
      token_max_ttl: role.maxTtlSeconds,
      role_id: role.roleId,
      resolve_aws_unique_ids: role.resolveAwsUniqueIds,
      token_type: 'default',
    },
    mountType: MOUNT_TYPE,
  });
}

function deleteRole(ctx: RequestContext): VaultResponse {
  ctx.ns.awsRoles.delete(roleName(ctx));
  return noContent();
}

function listRoles(ctx: RequestContext): VaultResponse {
  const keys = [...ctx.ns.awsRoles.keys()].sort();
  if (keys.length === 0) throw notFound();
  return ok({ data: { keys }, mountType: MOUNT_TYPE });
}

function readClientConfig(ctx: RequestContext): VaultResponse {
  const config = ctx.ns.awsClient;
  return ok({
    data: {
      access_key: '',
      iam_server_id_header_value: config.iamServerIdHeaderValue,
      sts_endpoint: config.stsEndpoint,
      sts_region: '',
      max_retries: -1,
      allowed_sts_header_values: [],
    },
    mountType: MOUNT_TYPE,
  });
}

function writeClientConfig(ctx: RequestContext): VaultResponse {
  const config = ctx.ns.awsClient;
  if ('iam_server_id_header_value' in ctx.body) {
    config.iamServerIdHeaderValue = stringField(ctx.body, 'iam_server_id_header_value');
  }
  if ('sts_endpoint' in ctx.body) config.stsEndpoint = stringField(ctx.body, 'sts_endpoint');
  return noContent();
}

function deleteClientConfig(ctx: RequestContext): VaultResponse {
  ctx.ns.awsClient = { iamServerIdHeaderValue: '', stsEndpoint: '' };
  return noContent();
}

/** Vault's bound_iam_principal_arn check: the canonical ARN exactly, or a `*` glob against the full ARN. */
function isBound(role: AwsRole, entity: IamEntity, identity: CallerIdentity): boolean {
  if (role.boundIamPrincipalArns.includes(canonicalArn(entity))) return true;
  // Vault looks the full ARN (with path) up in IAM; assumed-role ARNs carry no path, so the canonical one stands in.
  const fullArn = entity.type === 'assumed-role' ? canonicalArn(entity) : identity.arn;
  return role.boundIamPrincipalArns.some(
    (pattern) => pattern.endsWith('*') && globbedMatch(pattern, fullArn),
  );
}

async function login(ctx: RequestContext): Promise<VaultResponse> {
  const signed = parseLoginRequest(ctx.body);
  const config = ctx.ns.awsClient;
  if (config.iamServerIdHeaderValue !== '') {
    const problem = serverIdHeaderProblem(signed.headers, config.iamServerIdHeaderValue);
    if (problem) throw badRequest(`error validating ${IAM_SERVER_ID_HEADER} header: ${problem}`);
  }
  const disallowed = disallowedAmzHeader(signed.headers);
  if (disallowed) throw badRequest(`invalid request header: ${disallowed}`);
  let identity: CallerIdentity;
  try {
    identity = await getCallerIdentity(config.stsEndpoint || ctx.stsEndpoint, signed);
  } catch (error) {
    if (error instanceof StsUpstreamError)
      throw badRequest(`error making upstream request: ${error.message}`);
    throw error;
  }
  let entity: IamEntity;
  try {
    entity = parseIamArn(identity.arn);
  } catch (error) {
    if (error instanceof IamArnError)
      throw badRequest(`error parsing arn "${identity.arn}": ${error.message}`);
    throw error;
  }
  const name = (stringField(ctx.body, 'role') || entity.friendlyName).toLowerCase();
  const role = ctx.ns.awsRoles.get(name);
  if (!role) throw badRequest(`entry for role ${name} not found`);
  if (role.authType !== 'iam') throw badRequest(`auth method iam not allowed for role ${name}`);
  if (role.boundIamPrincipalArns.length > 0 && !isBound(role, entity, identity)) {
    throw badRequest(`IAM Principal "${identity.arn}" does not belong to the role "${name}"`);
  }
  const metadata = {
    account_id: entity.accountNumber,
    auth_type: 'iam',
    canonical_arn: canonicalArn(entity),
    client_arn: identity.arn,
    client_user_id: identity.userId.split(':')[0] ?? '',
    inferred_aws_region: '',
    inferred_entity_id: '',
    inferred_entity_type: '',
    role_id: role.roleId,
  };
  const token = issueToken(ctx.ns, {
    policies: role.policies,
    ttlSeconds: role.ttlSeconds,
    orphan: true,
    path: 'auth/aws/login',
    displayName: `aws-${entity.friendlyName}`,
    meta: metadata,
  });
  return ok({ auth: authBlock(token, metadata), mountType: MOUNT_TYPE });
}

const aws = (route: Omit<Route, 'scope'>): Route => ({ scope: 'aws', ...route });

export const AWS_ROUTES: Route[] = [
  aws({ pattern: 'login', methods: ['POST', 'PUT'], op: 'login', access: 'public', handle: login }),
  aws({ pattern: 'role/', methods: ['LIST'], op: 'sys', access: 'acl', handle: listRoles }),
  aws({ pattern: 'role/{role}', methods: ['GET'], op: 'sys', access: 'acl', handle: readRole }),
  aws({
    pattern: 'role/{role}',
    methods: ['POST', 'PUT'],
    op: 'sys',
    access: 'acl',
    exists: (ctx) => ctx.ns.awsRoles.has(roleName(ctx)),
    handle: writeRole,
  }),
  aws({ pattern: 'role/{role}', methods: ['DELETE'], op: 'sys', access: 'acl', handle: deleteRole }),
  aws({ pattern: 'config/client', methods: ['GET'], op: 'sys', access: 'acl', handle: readClientConfig }),
  aws({
    pattern: 'config/client',
    methods: ['POST', 'PUT'],
    op: 'sys',
    access: 'acl',
    handle: writeClientConfig,
  }),
  aws({
    pattern: 'config/client',
    methods: ['DELETE'],
    op: 'sys',
    access: 'acl',
    handle: deleteClientConfig,
  }),
];
