// planFleet in a deployment at `/` (rotateUsersAtRootPath): every grant on a user requires the
// opt-in tag, so a fleet input selecting any other user is refused before anything is listed.
import { IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { FleetPlan } from '../../functions/planFleet.js';
import {
  ACCOUNT_ID,
  EXECUTION,
  FLEET_BUCKET_ENV,
  rejectionOf,
  resetBeforeEach,
  useHandler,
} from './support.js';

const { deployment } = useHandler<FleetPlan>(() => import('../../functions/planFleet.js'));
const iam = resetBeforeEach(mockClient(IAMClient));

const ENV = { ROTATOR_ACCOUNT_ID: ACCOUNT_ID, ...FLEET_BUCKET_ENV };
const AT_ROOT = { ...ENV, ROTATOR_ROTATE_USERS_AT_ROOT_PATH: 'true' };

describe('planFleet with rotateUsersAtRootPath', () => {
  it('refuses allUsersInPath and another tag, naming them, before any call', async () => {
    const plan = await deployment(AT_ROOT);
    for (const [input, named] of [
      [{ allUsersInPath: true }, 'allUsersInPath'],
      [{ tagKey: 'team' }, 'tagKey'],
      [{ tagValue: 'yes' }, 'tagValue'],
    ] as const) {
      const error = await rejectionOf(plan({ input, execution: EXECUTION }));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toBe(
        `invalid fleet input: ${named}: this deployment rotates users at / (rotateUsersAtRootPath), only those tagged iam-key-rotator:rotate=true`,
      );
    }
    expect(iam.calls()).toHaveLength(0);
  });

  it('plans a fleet of opted-in users at /, and allUsersInPath in a path of its own', async () => {
    const atRoot = await deployment(AT_ROOT);
    const input = { tagKey: 'iam-key-rotator:rotate', tagValue: 'true' };
    expect((await atRoot({ input, execution: EXECUTION })).accounts).toEqual([ACCOUNT_ID]);
    const inPath = await deployment({ ...ENV, ROTATOR_ROTATE_USERS_AT_ROOT_PATH: 'false' });
    expect((await inPath({ input: { allUsersInPath: true }, execution: EXECUTION })).accounts).toEqual([
      ACCOUNT_ID,
    ]);
  });
});
