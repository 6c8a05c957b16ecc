import { accountFolder, accountFolderProblem } from './commons/account-folders.js';
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
  const problem =
    folder !== undefined && accounts.allowedAccountIds.length > 0
      ? accountFolderProblem(vaultPath, accountId, folder, accounts.ownAccountId)
      : undefined;
  if (problem !== undefined) throw new InvalidInputError(`invalid execution input: vaultPath: ${problem}`);
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
    adoptVaultPath: parsed.adoptVaultPath,
    inUseRecheckSeconds: defaults.inUseRecheckSeconds,
    ...(parsed.fleetTaskToken !== undefined ? { fleet: true as const } : {}),
    execution,
    startedAt,
  };
  logger.info('input accepted', { userName: request.userName, accountId, vaultPath, dryRun: request.dryRun });
  return request;
};
