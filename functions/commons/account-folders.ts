import { defaultPath } from './input.js';

const ACCOUNT_SEGMENT = '{accountId}/';

/**
 * Where a per-account layout keeps an account's paths: the template up to `{accountId}/`, filled in.
 * Undefined for a template without that segment, or with {userName} before it.
 */
export function accountFolder(template: string, prefix: string, accountId: string): string | undefined {
  const at = template.indexOf(ACCOUNT_SEGMENT);
  const head = template.slice(0, at + ACCOUNT_SEGMENT.length);
  if (at < 0 || head.includes('{userName}')) return undefined;
  return defaultPath(head, { prefix, userName: '', accountId });
}

/**
 * With other accounts, a path (given, or the pin a user's tag names) must not reach into another
 * account's folder: that account's consumers would be served this account's key. Another account's
 * paths stay inside its own folder; the own account's may also lie outside every account folder.
 * Returns what is wrong with the path, or undefined.
 */
export function accountFolderProblem(
  path: string,
  accountId: string,
  folder: string,
  ownAccountId: string,
): string | undefined {
  if (path.startsWith(folder)) return undefined;
  if (accountId !== ownAccountId) return `account ${accountId}'s paths are below '${folder}'`;
  const head = folder.slice(0, folder.length - accountId.length - 1);
  const [next] = path.startsWith(head) ? path.slice(head.length).split('/') : [];
  // A folder that merely starts like an account's, too: a consumer policy on `<id>*` would reach it;
  // and the folder itself, which a policy on `<id>/*` or `<id>*` covers.
  if (next !== undefined && /^\d{12}/.test(next)) {
    return `'${path}' is in account ${next.slice(0, 12)}'s folder, or one named like it`;
  }
  return undefined;
}
