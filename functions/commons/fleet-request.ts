import { accountSettings } from './accounts.js';
import { config } from './config.js';
import { InvalidInputError } from './errors.js';
import { parseEvent } from './event.js';
import { FleetInput, fleetAccounts } from './fleet-input.js';
import { fleetSettings } from './fleet-store.js';
import { belowFloors } from './input.js';

/** A fleet input as the deployment allows it, with what it resolves to. */
export interface FleetRequest {
  input: FleetInput;
  /** The accounts listed, in the order asked for. */
  accounts: string[];
  /** The input's maxDuePerAccount, else the deployment's. */
  maxDuePerAccount: number;
}

/**
 * Checks a fleet input as planFleet does before anything starts, and listCandidates again for
 * each account (its event comes from the state): the schema, the deployment's floors, the accounts
 * it may rotate in and its maxDuePerAccount, which an input may lower and never raise.
 * InvalidInputError before any call.
 */
export function fleetRequest(raw: unknown): FleetRequest {
  const input = parseEvent(FleetInput, raw, 'fleet input');
  const below = belowFloors(input.userDefaults, config().floors);
  if (below.length > 0) throw new InvalidInputError(`invalid fleet input: userDefaults: ${below.join('; ')}`);
  const accounts = fleetAccounts(input, accountSettings());
  const ceiling = fleetSettings().maxDuePerAccount;
  if (input.maxDuePerAccount !== undefined && input.maxDuePerAccount > ceiling) {
    throw new InvalidInputError(
      `invalid fleet input: maxDuePerAccount: ${input.maxDuePerAccount} is above the deployment's maxDuePerAccount (${ceiling}); ask for at most ${ceiling}, or raise the parameter`,
    );
  }
  return { input, accounts, maxDuePerAccount: input.maxDuePerAccount ?? ceiling };
}
