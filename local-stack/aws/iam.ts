import { AwsServiceError, noSuchAccessKey, validationError } from './errors.js';
import type { CallContext, QueryHandler } from './context.js';
import { iamPage } from './iam-pages.js';
import { optional, required, structList } from './params.js';
import { MalformedPolicyError, parsePolicy } from './policy/document.js';
import { parseTrustPolicy } from './policy/trust.js';
import type { AccessKey, AccessKeyStatus, Role, User } from './state.js';
import { xmlDate, xmlList, type XmlObject } from './xml.js';

const MAX_TAGS_PER_USER = 50;

function userXml(user: User, withTags = false): XmlObject {
  const xml: XmlObject = {
    Path: user.path,
    UserName: user.userName,
    UserId: user.userId,
    Arn: user.arn,
    CreateDate: xmlDate(user.createDate),
  };
  if (withTags && user.tags.size > 0) xml.Tags = tagsXml(user);
  return xml;
}

const tagsXml = (user: User): XmlObject => xmlList([...user.tags].map(([Key, Value]) => ({ Key, Value })));

const keyMetadataXml = (key: AccessKey): XmlObject => ({
  UserName: key.userName,
  AccessKeyId: key.accessKeyId,
  Status: key.status,
  CreateDate: xmlDate(key.createDate),
});

const roleXml = (role: Role): XmlObject => ({
  Path: role.path,
  RoleName: role.roleName,
  RoleId: role.roleId,
  Arn: role.arn,
  CreateDate: xmlDate(role.createDate),
  // IAM returns policy documents URL-encoded.
  AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicyDocument),
});

/** A policy parsed by `parse`, or IAM's MalformedPolicyDocument. */
function parseDocument<T>(text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof MalformedPolicyError) {
      throw new AwsServiceError('MalformedPolicyDocument', error.message, 400);
    }
    throw error;
  }
}

/** UserName defaults to the caller, which only works for IAM user credentials. */
export function targetUserName(params: URLSearchParams, { principal }: CallContext): string {
  const userName = optional(params, 'UserName');
  if (userName !== undefined) return userName;
  if (principal.kind === 'user') return principal.user.userName;
  throw new AwsServiceError(
    'ValidationError',
    'Must specify userName when calling with non-User credentials',
    400,
  );
}

function keyOf(params: URLSearchParams, ctx: CallContext): AccessKey {
  const accessKeyId = required(params, 'AccessKeyId', 'accessKeyId');
  const { userName } = ctx.state.getUser(targetUserName(params, ctx));
  const key = ctx.state.accessKeys.get(accessKeyId);
  if (!key || key.userName !== userName) throw noSuchAccessKey(accessKeyId);
  return key;
}

/** Validates tags and merges them into `existing` only if all of them fit. */
function applyTags(existing: Map<string, string>, tags: Record<string, string>[]): void {
  const merged = new Map(existing);
  for (const { Key, Value } of tags) {
    if (Key === undefined || Key.length === 0 || Key.length > 128) {
      throw validationError(Key, 'tags.member.key', 'Member must have length between 1 and 128');
    }
    merged.set(Key, Value ?? '');
  }
  if (merged.size > MAX_TAGS_PER_USER) {
    throw new AwsServiceError('LimitExceeded', 'The number of tags has reached the maximum limit.', 409);
  }
  for (const [key, value] of merged) existing.set(key, value);
}

function parseStatus(value: string): AccessKeyStatus {
  if (value === 'Active' || value === 'Inactive') return value;
  throw validationError(value, 'status', 'Member must satisfy enum value set: [Active, Inactive]');
}

export const iamActions: ReadonlyMap<string, QueryHandler> = new Map<string, QueryHandler>([
  [
    'CreateUser',
    (params, { state }) => {
      const tags = new Map<string, string>();
      applyTags(tags, structList(params, 'Tags'));
      const user = state.addUser(required(params, 'UserName', 'userName'), optional(params, 'Path'));
      for (const [key, value] of tags) user.tags.set(key, value);
      return { User: userXml(user, true) };
    },
  ],
  ['GetUser', (params, ctx) => ({ User: userXml(ctx.state.getUser(targetUserName(params, ctx)), true) })],
  [
    'ListUsers',
    (params, { state }) => {
      const prefix = optional(params, 'PathPrefix') ?? '/';
      const users = [...state.users.values()]
        .filter((user) => user.path.startsWith(prefix))
        .sort((a, b) => a.userName.localeCompare(b.userName));
      const { page, ...more } = iamPage(params, users, (user) => user.userName);
      return { Users: xmlList(page.map((user) => userXml(user))), ...more };
    },
  ],
  [
    'TagUser',
    (params, { state }) => {
      applyTags(state.getUser(required(params, 'UserName', 'userName')).tags, structList(params, 'Tags'));
      return undefined;
    },
  ],
  [
    'ListUserTags',
    (params, { state }) => {
      const tags = [...state.getUser(required(params, 'UserName', 'userName')).tags];
      const { page, ...more } = iamPage(params, tags, ([key]) => key);
      return { Tags: xmlList(page.map(([Key, Value]) => ({ Key, Value }))), ...more };
    },
  ],
  [
    'CreateAccessKey',
    (params, ctx) => {
      const key = ctx.state.addAccessKey(targetUserName(params, ctx), true);
      return { AccessKey: { ...keyMetadataXml(key), SecretAccessKey: key.secretAccessKey } };
    },
  ],
  [
    'ListAccessKeys',
    (params, ctx) => {
      const userName = ctx.state.getUser(targetUserName(params, ctx)).userName;
      const { page, ...more } = iamPage(params, ctx.state.keysOf(userName), (key) => key.accessKeyId);
      return { AccessKeyMetadata: xmlList(page.map(keyMetadataXml)), ...more };
    },
  ],
  [
    'UpdateAccessKey',
    (params, ctx) => {
      const status = parseStatus(required(params, 'Status', 'status'));
      keyOf(params, ctx).status = status;
      return undefined;
    },
  ],
  [
    'DeleteAccessKey',
    (params, ctx) => {
      ctx.state.accessKeys.delete(keyOf(params, ctx).accessKeyId);
      return undefined;
    },
  ],
  [
    'CreateRole',
    (params, { state }) => {
      const document = required(params, 'AssumeRolePolicyDocument', 'assumeRolePolicyDocument');
      const role = state.addRole(
        required(params, 'RoleName', 'roleName'),
        optional(params, 'Path') ?? '/',
        document,
        parseDocument(document, parseTrustPolicy),
      );
      return { Role: roleXml(role) };
    },
  ],
  [
    'UpdateAssumeRolePolicy',
    (params, { state }) => {
      const role = state.getRole(required(params, 'RoleName', 'roleName'));
      const document = required(params, 'PolicyDocument', 'policyDocument');
      role.trust = parseDocument(document, parseTrustPolicy);
      role.assumeRolePolicyDocument = document;
      return undefined;
    },
  ],
  [
    'GetRole',
    (params, { state }) => ({ Role: roleXml(state.getRole(required(params, 'RoleName', 'roleName'))) }),
  ],
  [
    'PutRolePolicy',
    (params, { state }) => {
      const role = state.getRole(required(params, 'RoleName', 'roleName'));
      const name = required(params, 'PolicyName', 'policyName');
      const document = required(params, 'PolicyDocument', 'policyDocument');
      role.policies.set(name, { document, statements: parseDocument(document, parsePolicy) });
      return undefined;
    },
  ],
  [
    'GetAccessKeyLastUsed',
    (params, { state }) => {
      const accessKeyId = required(params, 'AccessKeyId', 'accessKeyId');
      const key = state.accessKeys.get(accessKeyId);
      if (!key) throw noSuchAccessKey(accessKeyId);
      // A never-used key has no LastUsedDate and "N/A" service and region, as in AWS.
      const lastUsed: XmlObject = key.lastUsed
        ? {
            LastUsedDate: xmlDate(key.lastUsed.date),
            ServiceName: key.lastUsed.service,
            Region: key.lastUsed.region,
          }
        : { ServiceName: 'N/A', Region: 'N/A' };
      return { UserName: key.userName, AccessKeyLastUsed: lastUsed };
    },
  ],
]);
