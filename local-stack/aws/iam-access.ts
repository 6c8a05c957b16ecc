import { conditionKeys, type Access, type QueryAccess } from './access.js';
import { targetUserName } from './iam.js';
import { optional, structList } from './params.js';
import type { AwsState } from './state.js';

/** The tag condition keys of a request that sets tags: aws:TagKeys and aws:RequestTag/<key>. */
function requestTags(params: URLSearchParams): Record<string, string | string[]> {
  const tags = structList(params, 'Tags');
  return {
    'aws:TagKeys': tags.map((t) => t.Key ?? ''),
    ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.Key ?? ''}`, t.Value ?? ''])),
  };
}

/**
 * A user as a resource: its ARN carries its path. A user that does not exist has no known path,
 * so (as the emulator assumes IAM does) it is evaluated as `user/<name>`, which a path-scoped
 * policy does not match.
 */
function findUser(state: AwsState, userName: string) {
  try {
    return state.getUser(userName);
  } catch {
    return undefined;
  }
}

function userAccess(
  state: AwsState,
  action: string,
  userName: string,
  extra: Record<string, string | string[]> = {},
  path?: string,
): Access {
  // IAM authorizes against the user as created, whatever the case of the name asked for.
  const user = state.users.has(userName) ? state.users.get(userName) : findUser(state, userName);
  const resourceTags = Object.fromEntries(
    [...(user?.tags ?? [])].map(([k, v]) => [`aws:ResourceTag/${k}`, v]),
  );
  return {
    action,
    resource: user?.arn ?? `arn:aws:iam::${state.accountId}:user${path ?? '/'}${userName}`,
    shown: `user ${userName}`,
    context: conditionKeys({ ...resourceTags, ...extra }),
  };
}

const onUser =
  (action: string): QueryAccess =>
  (params, ctx) => {
    const userName = params.get('UserName') ?? undefined;
    // Without UserName, the target is the calling user (the operation refuses other callers).
    return [userAccess(ctx.state, action, userName ?? targetUserName(params, ctx))];
  };

function onRole(action: string): QueryAccess {
  return (params, { state }) => {
    const roleName = params.get('RoleName');
    if (roleName === null) return [];
    const role = state.roles.get(roleName);
    const path = role?.path ?? optional(params, 'Path') ?? '/';
    return [
      {
        action,
        resource: role?.arn ?? `arn:aws:iam::${state.accountId}:role${path}${roleName}`,
        shown: `role ${roleName}`,
        context: conditionKeys({}),
      },
    ];
  };
}

/** The IAM action, resource and condition keys of every emulated IAM operation. */
export const iamAccess: ReadonlyMap<string, QueryAccess> = new Map<string, QueryAccess>([
  [
    'CreateUser',
    (params, { state }) => {
      const userName = params.get('UserName');
      return userName === null
        ? []
        : [userAccess(state, 'iam:CreateUser', userName, requestTags(params), optional(params, 'Path'))];
    },
  ],
  ['GetUser', onUser('iam:GetUser')],
  [
    'ListUsers',
    (params, { state }) => {
      const resource = `arn:aws:iam::${state.accountId}:user${optional(params, 'PathPrefix') ?? '/'}`;
      return [{ action: 'iam:ListUsers', resource, shown: resource, context: conditionKeys({}) }];
    },
  ],
  [
    'TagUser',
    (params, { state }) => {
      const userName = params.get('UserName');
      return userName === null ? [] : [userAccess(state, 'iam:TagUser', userName, requestTags(params))];
    },
  ],
  ['ListUserTags', onUser('iam:ListUserTags')],
  ['CreateAccessKey', onUser('iam:CreateAccessKey')],
  ['ListAccessKeys', onUser('iam:ListAccessKeys')],
  ['UpdateAccessKey', onUser('iam:UpdateAccessKey')],
  ['DeleteAccessKey', onUser('iam:DeleteAccessKey')],
  [
    'GetAccessKeyLastUsed',
    (params, { state }) => {
      // The key's owner is the resource. For a key that does not exist there is none to name,
      // and the operation answers NoSuchEntity (an emulator assumption).
      const key = state.accessKeys.get(params.get('AccessKeyId') ?? '');
      return key ? [userAccess(state, 'iam:GetAccessKeyLastUsed', key.userName)] : [];
    },
  ],
  ['CreateRole', onRole('iam:CreateRole')],
  ['GetRole', onRole('iam:GetRole')],
  ['PutRolePolicy', onRole('iam:PutRolePolicy')],
  ['UpdateAssumeRolePolicy', onRole('iam:UpdateAssumeRolePolicy')],
]);
