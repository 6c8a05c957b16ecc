import { describe, expect, it } from 'vitest';
import { accountFolder, accountFolderProblem } from '../../../functions/commons/account-folders.js';

const OWN = '111111111111';
const MEMBER = '222222222222';
const PREFIX = 'aws/iam-users/';
const TEMPLATE = '{prefix}{accountId}/{userName}';
const folderOf = (accountId: string) => accountFolder(TEMPLATE, PREFIX, accountId) ?? '';

describe('accountFolder', () => {
  it('is the template up to {accountId}/, filled in', () => {
    expect(folderOf(MEMBER)).toBe(`aws/iam-users/${MEMBER}/`);
  });

  it('is undefined for a template without an {accountId}/ folder before {userName}', () => {
    expect(accountFolder('{prefix}{userName}', PREFIX, MEMBER)).toBeUndefined();
    expect(accountFolder('{prefix}{userName}/{accountId}/key', PREFIX, MEMBER)).toBeUndefined();
  });
});

describe('accountFolderProblem', () => {
  const ownProblem = (path: string) => accountFolderProblem(path, OWN, folderOf(OWN), OWN);

  it('accepts a path inside the account’s own folder', () => {
    expect(ownProblem(`aws/iam-users/${OWN}/alice`)).toBeUndefined();
    expect(
      accountFolderProblem(`aws/iam-users/${MEMBER}/alice`, MEMBER, folderOf(MEMBER), OWN),
    ).toBeUndefined();
  });

  it('accepts an own-account path outside every account folder', () => {
    expect(ownProblem('aws/iam-users/shared/alice')).toBeUndefined();
  });

  it('refuses another account’s path outside its folder', () => {
    expect(accountFolderProblem('aws/iam-users/shared/alice', MEMBER, folderOf(MEMBER), OWN)).toBe(
      `account ${MEMBER}'s paths are below 'aws/iam-users/${MEMBER}/'`,
    );
  });

  it.each([
    ['inside another account’s folder', `aws/iam-users/${MEMBER}/alice`],
    ['in a folder named like an account’s', `aws/iam-users/${MEMBER}x/alice`],
    ['at an account’s folder itself, with no segment below it', `aws/iam-users/${MEMBER}`],
    ['at a name that starts like an account’s, with no segment below it', `aws/iam-users/${MEMBER}x`],
  ])('refuses an own-account path %s', (_case, path) => {
    expect(ownProblem(path)).toBe(`'${path}' is in account ${MEMBER}'s folder, or one named like it`);
  });
});
