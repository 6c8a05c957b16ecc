import { parseEvent } from './commons/event.js';
import type { UserDefaults } from './commons/fleet-input.js';
import { fleetRequest } from './commons/fleet-request.js';
import { fleetSettings, runKeys } from './commons/fleet-store.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

const Event = z.object({
  input: z.unknown(),
  execution: z.string().check(z.minLength(1)),
});

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
