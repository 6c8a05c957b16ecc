import { AccountId } from './commons/accounts.js';
import { parseEvent } from './commons/event.js';
import { fleetSettings, putText, runKeys } from './commons/fleet-store.js';
import { logger } from './commons/logger.js';
import * as z from './commons/zod.js';

const Count = z.number().check(z.int(), z.minimum(0));

const Event = z.object({
  execution: z.string().check(z.minLength(1)),
  /** ListAccounts' result: each account's due count, or the error its Catch recorded. */
  listed: z.array(
    z.union([
      z.object({ accountId: AccountId, due: Count }),
      z.object({ accountId: AccountId, error: z.string() }),
    ]),
  ),
});

export interface FleetManifest {
  /** The Athena manifest the Distributed Map's ItemReader reads (ManifestType ATHENA_DATA). */
  manifestKey: string;
  /** Due users in all the accounts listed: the items of the Map. */
  due: number;
}

/**
 * WriteFleetManifest: the Athena-style manifest of a fleet run, one `s3://<bucket>/<key>` line per
 * account with due users (their JSON Lines, written by listCandidates), in the order listed; the
 * Distributed Map reads every due user of every account through it. The same object for every
 * attempt.
 */
export const handler = async (event: unknown): Promise<FleetManifest> => {
  const { execution, listed } = parseEvent(Event, event);
  const keys = runKeys(execution);
  const { bucket } = fleetSettings();
  const withDue = listed.flatMap((l) => ('due' in l && l.due > 0 ? [l] : []));
  const due = withDue.reduce((sum, l) => sum + l.due, 0);
  await putText(keys.manifest, withDue.map((l) => `s3://${bucket}/${keys.due(l.accountId)}\n`).join(''));
  logger.info('fleet manifest written', { accounts: withDue.length, due });
  return { manifestKey: keys.manifest, due };
};
