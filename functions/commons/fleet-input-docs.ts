import type { FleetInput } from './fleet-input.js';
import type { FieldDoc } from './input-docs.js';

/** The fleet input's fields (functions/commons/fleet-input.ts FleetInput), for docs/reference/fleet-input.md. */
export const FLEET_INPUT_DOCS: Record<keyof FleetInput, FieldDoc> = {
  maxKeyAgeDays: { meaning: 'A user is due when its oldest **Active** key is older than this.' },
  tagKey: { meaning: 'The opt-in tag’s key.', default: '`iam-key-rotator:rotate`' },
  tagValue: { meaning: 'The opt-in tag’s value.', default: '`true`' },
  allUsersInPath: { meaning: 'Every user under the path, tagged or not (excludes `tagKey`/`tagValue`).' },
  maxConcurrency: { meaning: 'How many children may be between their start and their stored, verified key.' },
  maxDuePerAccount: {
    meaning:
      'The most due users this run starts per account, oldest keys first; the others are deferred to the next run (not failed). At most the deployment’s `maxDuePerAccount`: a larger value is refused (`InvalidInputError`).',
    default: 'the deployment’s `maxDuePerAccount` (1000)',
  },
  dryRun: { meaning: 'Every child plans its rotation and changes nothing.' },
  userDefaults: {
    meaning:
      '`graceSeconds`, `recoverySeconds`, `oldKeyInUse`, `deleteInactiveKey` for every child (the execution input’s rules); below the deployment’s floors, refused.',
  },
  accountIds: {
    meaning:
      'The accounts whose users are listed (distinct 12-digit ids). Each must be the deployment’s own or in `allowedAccountIds`, else `InvalidInputError` before any call.',
    default: 'the deployment’s own account',
  },
  allowedAccounts: {
    meaning:
      '`true`: every account the deployment may rotate in (its own, then `allowedAccountIds`). Excludes `accountIds`.',
  },
};
