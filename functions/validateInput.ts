import { accountSettings, checkAccountAllowed } from './commons/accounts.js';
import { config } from './commons/config.js';
import { ConfigurationError, InvalidInputError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  belowFloors,
  defaultPath,
  ExecutionInput,
  isServablePath,
  type Request,
  VaultPath,
} from './commons/input.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

const Event = z.object({
  input: z.unknown(),
  execution: z.string().check(z.minLength(1)),
  startedAt: z.iso.datetime({ offset: true }),
});

const ACCOUNT_SEGMENT = '{accountId}/';

/**
 * Where a per-account layout keeps an account's paths: the template up to `{accountId}/`, filled in.
 * Undefined for a template without that segment, or with {userName} before it.
 */
function accountFolder(template: string, prefix: string, accountId: string): string | undefined {
  const at = template.indexOf(ACCOUNT_SEGMENT);
  const head = template.slice(0, at + ACCOUNT_SEGMENT.length);
  if (at < 0 || head.includes('{userName}')) return undefined;
  return defaultPath(head, { prefix, userName: '', accountId });
}

/**
 * With other accounts, a path (given, or the pin a user's tag names) must not reach into another
 * account's folder: that account's consumers would be served this account's key. Another account's
 * paths stay inside its own folder; the own account's may also lie outside every account folder.
 */
function checkAccountFolder(
  vaultPath: string,
  accountId: string,
  folder: string,
  ownAccountId: string,
): void {
  if (vaultPath.startsWith(folder)) return;
  if (accountId !== ownAccountId) {
    throw new InvalidInputError(
      `invalid execution input: vaultPath: account ${accountId}'s paths are below '${folder}'`,
    );
  }
  const head = folder.slice(0, folder.length - accountId.length - 1);
  const [next, ...rest] = vaultPath.startsWith(head) ? vaultPath.slice(head.length).split('/') : [];
  // A folder that merely starts like an account's, too: a consumer policy on `<id>*` would reach it.
  if (next !== undefined && /^\d{12}/.test(next) && rest.length > 0) {
    throw new InvalidInputError(
      `invalid execution input: vaultPath: '${vaultPath}' is in account ${next.slice(0, 12)}'s folder, or one named like it`,
    );
  }
}

/**
 * ValidateInput: checks the execution input against the schema and the deployment's floors and fills
 * in defaults; makes no calls at all.
 */
export const handler = async (event: unknown): Promise<Request> => {
  const { input, execution, startedAt } = parseEvent(Event, event);
  const parsed = parseEvent(ExecutionInput, input, 'execution input');
  const accounts = accountSettings();
  const { pathPrefix, pathTemplate } = config().vault;
  const accountId = parsed.accountId ?? accounts.ownAccountId;
  // Else users of one name in two accounts would be served at one Vault path.
  const folder = accountFolder(pathTemplate, pathPrefix, accountId);
  if (accounts.allowedAccountIds.length > 0 && folder === undefined) {
    throw new ConfigurationError(
      'invalid environment: VAULT_PATH_TEMPLATE needs a segment {accountId}/ before {userName} when ROTATOR_ALLOWED_ACCOUNT_IDS is set',
    );
  }
  checkAccountAllowed(accountId, accounts);
  const { defaults, floors } = config();
  // The deployment's default in-use policy counts too: a move under "proceed" is refused either way.
  const below = belowFloors({ ...parsed, oldKeyInUse: parsed.oldKeyInUse ?? defaults.oldKeyInUse }, floors);
  if (below.length > 0) throw new InvalidInputError(`invalid execution input: ${below.join('; ')}`);
  const defaultVaultPath = defaultPath(pathTemplate, {
    prefix: pathPrefix,
    userName: parsed.userName,
    accountId,
  });
  const vaultPath = parsed.vaultPath ?? defaultVaultPath;
  // The template fills in a user name, which IAM allows to be `.` or `..`: check the result too.
  if (!isServablePath(vaultPath, pathPrefix)) {
    throw new InvalidInputError(`invalid execution input: vaultPath: must be below '${pathPrefix}'`);
  }
  if (folder !== undefined && accounts.allowedAccountIds.length > 0) {
    checkAccountFolder(vaultPath, accountId, folder, accounts.ownAccountId);
  }
  const request: Request = {
    userName: parsed.userName,
    accountId,
    vaultPath,
    ...(VaultPath.safeParse(defaultVaultPath).success ? { defaultVaultPath } : {}),
    dryRun: parsed.dryRun,
    graceSeconds: parsed.graceSeconds ?? defaults.graceSeconds,
    recoverySeconds: parsed.recoverySeconds ?? defaults.recoverySeconds,
    deleteInactiveKey: parsed.deleteInactiveKey,
    oldKeyInUse: parsed.oldKeyInUse ?? defaults.oldKeyInUse,
    moveVaultPath: parsed.moveVaultPath,
    inUseRecheckSeconds: defaults.inUseRecheckSeconds,
    ...(parsed.fleetTaskToken !== undefined ? { fleet: true as const } : {}),
    execution,
    startedAt,
  };
  logger.info('input accepted', { userName: request.userName, accountId, vaultPath, dryRun: request.dryRun });
  return request;
};
