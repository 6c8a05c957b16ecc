import { InvalidInputError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  DEFAULT_TAG_KEY,
  DEFAULT_TAG_VALUE,
  type FleetInput,
  type UserDefaults,
} from './commons/fleet-input.js';
import { fleetRequest } from './commons/fleet-request.js';
import { fleetSettings, runKeys } from './commons/fleet-store.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

const Event = z.object({
  input: z.unknown(),
  execution: z.string().check(z.minLength(1)),
});

/** The deployment's rotateUsersAtRootPath (serverless.yml gives it to planFleet only), read once. */
const AT_ROOT_PATH =
  z.optional(z.enum(['true', 'false'])).parse(process.env.ROTATOR_ROTATE_USERS_AT_ROOT_PATH) === 'true';

/**
 * At `/` every grant on a user requires the opt-in tag: a fleet selecting other users (all of them,
 * or by another tag) would only fail on each, so it is refused before anything is listed.
 */
function refuseUnoptedUsers(input: FleetInput): void {
  const problems = [
    ...(input.allUsersInPath ? ['allUsersInPath'] : []),
    ...(input.tagKey !== undefined && input.tagKey !== DEFAULT_TAG_KEY ? ['tagKey'] : []),
    ...(input.tagValue !== undefined && input.tagValue !== DEFAULT_TAG_VALUE ? ['tagValue'] : []),
  ];
  if (problems.length > 0) {
    throw new InvalidInputError(
      `invalid fleet input: ${problems.join(', ')}: this deployment rotates users at / (rotateUsersAtRootPath), only those tagged ${DEFAULT_TAG_KEY}=${DEFAULT_TAG_VALUE}`,
    );
  }
}

/** What every later state of the fleet machine reads. */
export interface FleetPlan {
  /** The accounts ListAccounts lists, one invocation of listCandidates each, in the order asked for. */
  accounts: string[];
  dryRun: boolean;
  maxConcurrency: number;
  maxDuePerAccount: number;
  userDefaults: UserDefaults;
  /** The fleet's bucket, and where the Distributed Map's ResultWriter writes in it. */
  bucket: string;
  resultsPrefix: string;
}

/**
 * PlanFleet: checks the fleet input (schema, the deployment's floors, the accounts it may rotate
 * in, maxDuePerAccount) before anything is listed or started, and says what the run covers. No
 * AWS call.
 */
export const handler = async (event: unknown): Promise<FleetPlan> => {
  const { input, execution } = parseEvent(Event, event);
  const { input: request, accounts, maxDuePerAccount } = fleetRequest(input);
  if (AT_ROOT_PATH) refuseUnoptedUsers(request);
  const plan: FleetPlan = {
    accounts,
    dryRun: request.dryRun,
    maxConcurrency: request.maxConcurrency,
    maxDuePerAccount,
    userDefaults: request.userDefaults,
    bucket: fleetSettings().bucket,
    resultsPrefix: runKeys(execution).results,
  };
  logger.info('fleet planned', { accounts: accounts.length, maxDuePerAccount, dryRun: request.dryRun });
  return plan;
};
