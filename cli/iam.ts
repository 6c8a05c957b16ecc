import {
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  type AccessKeyMetadata,
  type Tag,
  type User,
} from '@aws-sdk/client-iam';
import { callAws } from './aws-call.js';

/** An IAM client; the endpoint from --iam-endpoint, else the SDK's (AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL). */
export function iamClient(endpoint: string | undefined): IAMClient {
  return new IAMClient(endpoint ? { endpoint } : {});
}

/** Every user under the path (all pages). */
export async function usersUnder(iam: IAMClient, pathPrefix: string): Promise<User[]> {
  const users: User[] = [];
  let Marker: string | undefined;
  do {
    const page = await callAws('iam:ListUsers', `users under ${pathPrefix}`, () =>
      iam.send(new ListUsersCommand({ PathPrefix: pathPrefix, Marker })),
    );
    users.push(...(page.Users ?? []));
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return users;
}

export async function accessKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[]> {
  const keys: AccessKeyMetadata[] = [];
  let Marker: string | undefined;
  do {
    const page = await callAws('iam:ListAccessKeys', `user ${userName}`, () =>
      iam.send(new ListAccessKeysCommand({ UserName: userName, Marker })),
    );
    keys.push(...(page.AccessKeyMetadata ?? []));
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return keys;
}

export async function userTags(iam: IAMClient, userName: string): Promise<Record<string, string>> {
  const tags: Tag[] = [];
  let Marker: string | undefined;
  do {
    const page = await callAws('iam:ListUserTags', `user ${userName}`, () =>
      iam.send(new ListUserTagsCommand({ UserName: userName, Marker })),
    );
    tags.push(...(page.Tags ?? []));
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? '']));
}
