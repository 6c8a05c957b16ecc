import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { accountSettings } from './accounts.js';
import { awsFailure, errorCode } from './aws.js';
import { type IamTarget, iamClients, type TargetStep } from './clients/iam.js';
import { TooManyAccessKeysError, UserNotFoundError } from './errors.js';
import type { Request } from './input.js';

export type KeyStatus = 'Active' | 'Inactive';

export interface AccessKeyInfo {
  accessKeyId: string;
  status: KeyStatus;
  createDate: string;
}

/** An IAM user, and the account and step its calls act in. */
export interface IamUser {
  userName: string;
  target: IamTarget;
}

/**
 * The request's user as `step` acts on it: in the execution's account (the rotator's own for
 * executions started before accounts existed), with the execution's name as the role session's.
 */
export function iamUser(
  request: Pick<Request, 'userName' | 'accountId' | 'execution'>,
  step: TargetStep,
): IamUser {
  return {
    userName: request.userName,
    target: {
      accountId: request.accountId ?? accountSettings().ownAccountId,
      // The execution ARN ends with its name.
      execution: request.execution.split(':').at(-1) ?? request.execution,
      step,
    },
  };
}

/** IAM's quota of access keys per user. */
export const MAX_KEYS_PER_USER = 2;

function translate(action: string, userName: string, error: unknown): Error {
  switch (errorCode(error)) {
    case 'NoSuchEntity':
      return new UserNotFoundError(`IAM user '${userName}' does not exist`);
    // IAM authorizes before it looks the user up: a user that does not exist has no path, so the
    // path-scoped policy refuses it. Either way it is not a user this deployment rotates.
    case 'AccessDenied':
      return action === 'iam:GetUser'
        ? new UserNotFoundError(
            `IAM user '${userName}' does not exist under this deployment's user path, or this function's role may not read it (iam:GetUser: AccessDenied)`,
          )
        : awsFailure(action, error);
    case 'LimitExceeded':
      return action === 'iam:CreateAccessKey'
        ? new TooManyAccessKeysError(`IAM user '${userName}' already has ${MAX_KEYS_PER_USER} access keys`)
        : awsFailure(action, error);
    default:
      return awsFailure(action, error);
  }
}

async function call<T>(action: string, userName: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw translate(action, userName, error);
  }
}

/** Runs a call on one key; false when the key (or user) is already gone, so re-runs converge. */
async function onKey(action: string, userName: string, send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (errorCode(error) === 'NoSuchEntity') return false;
    throw translate(action, userName, error);
  }
}

/**
 * The user as IAM knows it: IAM names are case-insensitive, so its own spelling of the name, and the
 * id that a deleted and re-created user does not inherit.
 */
export interface UserIdentity {
  userName: string;
  userId: string;
  arn: string;
}

/** The user's name, id and ARN as IAM returns them; throws UserNotFoundError. */
export async function getUser({ userName, target }: IamUser): Promise<UserIdentity> {
  const out = await call('iam:GetUser', userName, () =>
    iamClients(target).iam.send(new GetUserCommand({ UserName: userName })),
  );
  const { UserName, UserId, Arn } = out.User ?? {};
  if (!UserName || !UserId || !Arn) {
    throw awsFailure('iam:GetUser', new Error('response without User.UserName, UserId or Arn'));
  }
  return { userName: UserName, userId: UserId, arn: Arn };
}

/** The user's access keys, oldest first. */
export async function listAccessKeys({ userName, target }: IamUser): Promise<AccessKeyInfo[]> {
  const out = await call('iam:ListAccessKeys', userName, () =>
    iamClients(target).iam.send(new ListAccessKeysCommand({ UserName: userName })),
  );
  return (out.AccessKeyMetadata ?? [])
    .flatMap((key) =>
      key.AccessKeyId
        ? [
            {
              accessKeyId: key.AccessKeyId,
              status: key.Status === 'Inactive' ? ('Inactive' as const) : ('Active' as const),
              createDate: (key.CreateDate ?? new Date(0)).toISOString(),
            },
          ]
        : [],
    )
    .sort((a, b) => a.createDate.localeCompare(b.createDate));
}

/** A new key with its secret; the secret must go straight to sealing, never to output or logs. */
export async function createAccessKey({
  userName,
  target,
}: IamUser): Promise<AccessKeyInfo & { secretAccessKey: string }> {
  const out = await call('iam:CreateAccessKey', userName, () =>
    iamClients(target).iamOnce.send(new CreateAccessKeyCommand({ UserName: userName })),
  );
  const key = out.AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) {
    throw awsFailure('iam:CreateAccessKey', new Error('response without AccessKey'));
  }
  return {
    accessKeyId: key.AccessKeyId,
    secretAccessKey: key.SecretAccessKey,
    status: 'Active',
    createDate: (key.CreateDate ?? new Date()).toISOString(),
  };
}

/** Sets a key's status; false when the key no longer exists. */
export async function setAccessKeyStatus(
  { userName, target }: IamUser,
  accessKeyId: string,
  status: KeyStatus,
): Promise<boolean> {
  return onKey('iam:UpdateAccessKey', userName, () =>
    iamClients(target).iam.send(
      new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }),
    ),
  );
}

/** Deletes a key; false when it was already gone. */
export async function deleteAccessKey({ userName, target }: IamUser, accessKeyId: string): Promise<boolean> {
  return onKey('iam:DeleteAccessKey', userName, () =>
    iamClients(target).iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId })),
  );
}

/** When the key was last used, or undefined when never. */
export async function getLastUsed(
  { userName, target }: IamUser,
  accessKeyId: string,
): Promise<string | undefined> {
  const out = await call('iam:GetAccessKeyLastUsed', userName, () =>
    iamClients(target).iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })),
  );
  return out.AccessKeyLastUsed?.LastUsedDate?.toISOString();
}

/**
 * The user an access key belongs to, asked in the target's account: null when no such key exists
 * any more, `undefined` when IAM will not say (the key belongs to a user outside the rotated path).
 */
export async function keyOwner(target: IamTarget, accessKeyId: string): Promise<string | null | undefined> {
  try {
    const out = await iamClients(target).iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }),
    );
    return out.UserName ?? undefined;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'NoSuchEntity') return null;
    if (code === 'AccessDenied') return undefined;
    throw awsFailure('iam:GetAccessKeyLastUsed', error);
  }
}

/** The user's tags as a map. */
export async function getUserTags({ userName, target }: IamUser): Promise<Record<string, string>> {
  const out = await call('iam:ListUserTags', userName, () =>
    iamClients(target).iam.send(new ListUserTagsCommand({ UserName: userName })),
  );
  return Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/** Sets tags on the user, in one call. */
export async function tagUsers({ userName, target }: IamUser, tags: Record<string, string>): Promise<void> {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  await call('iam:TagUser', userName, () =>
    iamClients(target).iam.send(new TagUserCommand({ UserName: userName, Tags })),
  );
}
