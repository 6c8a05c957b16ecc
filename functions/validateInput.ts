import { z } from 'zod';
import { config } from './commons/config.js';
import { InvalidInputError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { ExecutionInput, type Request } from './commons/input.js';
import { logger } from './commons/logger.js';

const Event = z.object({
  input: z.unknown(),
  execution: z.string().min(1),
  startedAt: z.iso.datetime({ offset: true }),
});

/** ValidateInput: checks the execution input and fills in defaults; makes no calls at all. */
export const handler = async (event: unknown): Promise<Request> => {
  const { input, execution, startedAt } = parseEvent(Event, event);
  const parsed = parseEvent(ExecutionInput, input, 'execution input');
  const { pathPrefix } = config().vault;
  const { defaults } = config();
  const vaultPath = parsed.vaultPath ?? `${pathPrefix}${parsed.userName}`;
  if (!vaultPath.startsWith(pathPrefix) || vaultPath === pathPrefix) {
    throw new InvalidInputError(`invalid execution input: vaultPath: must be below '${pathPrefix}'`);
  }
  const request: Request = {
    userName: parsed.userName,
    vaultPath,
    dryRun: parsed.dryRun,
    graceSeconds: parsed.graceSeconds ?? defaults.graceSeconds,
    recoverySeconds: parsed.recoverySeconds ?? defaults.recoverySeconds,
    deleteInactiveKey: parsed.deleteInactiveKey,
    oldKeyInUse: parsed.oldKeyInUse ?? defaults.oldKeyInUse,
    inUseRecheckSeconds: defaults.inUseRecheckSeconds,
    execution,
    startedAt,
  };
  logger.info('input accepted', { userName: request.userName, vaultPath, dryRun: request.dryRun });
  return request;
};
