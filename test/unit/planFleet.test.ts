import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FleetPlan } from '../../functions/planFleet.js';
import {
  ACCOUNT_ID,
  EXECUTION,
  FLEET_BUCKET,
  FLEET_BUCKET_ENV,
  rejectionOf,
  resetBeforeEach,
  useFakeS3,
  useHandler,
} from './support.js';

const { handler, deployment } = useHandler<FleetPlan>(() => import('../../functions/planFleet.js'));
const iam = resetBeforeEach(mockClient(IAMClient));
const sts = resetBeforeEach(mockClient(STSClient));
const { s3 } = useFakeS3();

const MEMBER = '222222222222';
const OTHER = '333333333333';
const FLEET_ENV = { ROTATOR_ACCOUNT_ID: ACCOUNT_ID, ...FLEET_BUCKET_ENV };
const ACCOUNTS_ENV = {
  ...FLEET_ENV,
  ROTATOR_ALLOWED_ACCOUNT_IDS: `${MEMBER},${OTHER}`,
  ROTATOR_TARGET_EXTERNAL_ID: 'fleet-external-id',
};

beforeAll(() => {
  Object.assign(process.env, FLEET_ENV);
});

const noCalls = () => {
  expect(iam.calls()).toHaveLength(0);
  expect(sts.calls()).toHaveLength(0);
  expect(s3.calls()).toHaveLength(0);
};

describe('planFleet', () => {
  it('plans the run from the input and the deployment: the accounts, the Map’s settings, the bucket; no AWS call', async () => {
    expect(await handler({ input: {}, execution: EXECUTION })).toEqual({
      accounts: [ACCOUNT_ID],
      dryRun: false,
      maxConcurrency: 5,
      maxDuePerAccount: 1000,
      userDefaults: {},
      bucket: FLEET_BUCKET,
      resultsPrefix: 'runs/run-1/results',
    });
    const fleet = await deployment(ACCOUNTS_ENV);
    const plan = await fleet({
      input: {
        allowedAccounts: true,
        dryRun: true,
        maxConcurrency: 40,
        maxDuePerAccount: 250,
        userDefaults: { graceSeconds: 3600 },
      },
      execution: EXECUTION,
    });
    expect(plan).toMatchObject({
      accounts: [ACCOUNT_ID, MEMBER, OTHER],
      dryRun: true,
      maxConcurrency: 40,
      maxDuePerAccount: 250,
      userDefaults: { graceSeconds: 3600 },
    });
    expect(
      (await fleet({ input: { accountIds: [OTHER, ACCOUNT_ID] }, execution: EXECUTION })).accounts,
    ).toEqual([OTHER, ACCOUNT_ID]);
    noCalls();
  });

  it('takes the deployment’s maxDuePerAccount; an input may lower it, never raise it', async () => {
    const capped = await deployment({ ...FLEET_ENV, ROTATOR_MAX_DUE_PER_ACCOUNT: '300' });
    expect((await capped({ input: {}, execution: EXECUTION })).maxDuePerAccount).toBe(300);
    expect((await capped({ input: { maxDuePerAccount: 299 }, execution: EXECUTION })).maxDuePerAccount).toBe(
      299,
    );
    const error = await rejectionOf(capped({ input: { maxDuePerAccount: 301 }, execution: EXECUTION }));
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain(
      "maxDuePerAccount: 301 is above the deployment's maxDuePerAccount (300); ask for at most 300, or raise the parameter",
    );
    noCalls();
  });

  it('refuses bad input, waits below the floors and accounts the deployment may not rotate in, as InvalidInputError', async () => {
    for (const input of [
      { maxKeyAgeDays: 0 },
      { selector: 'all' },
      { userDefaults: { graceSeconds: 10 } },
      { maxDuePerAccount: 0 },
      { maxDuePerAccount: 10_001 },
      { accountIds: [MEMBER] },
      { maxConcurrency: 41 },
      'not an object',
    ]) {
      const error = await rejectionOf(handler({ input, execution: EXECUTION }));
      expect(error.name, JSON.stringify(input)).toBe('InvalidInputError');
    }
    expect((await rejectionOf(handler({ input: {} }))).name).toBe('InvalidInputError');
    noCalls();
  });

  it('refuses a deployment without the fleet’s bucket, or with a maxDuePerAccount out of bounds (ConfigurationError)', async () => {
    for (const env of [
      { ...FLEET_ENV, ROTATOR_FLEET_BUCKET: '' },
      { ...FLEET_ENV, ROTATOR_FLEET_BUCKET: 'Not_A_Bucket' },
      { ...FLEET_ENV, ROTATOR_MAX_DUE_PER_ACCOUNT: '0' },
      { ...FLEET_ENV, ROTATOR_MAX_DUE_PER_ACCOUNT: '10001' },
    ]) {
      const plan = await deployment(env);
      const error = await rejectionOf(plan({ input: {}, execution: EXECUTION }));
      expect(error.name, JSON.stringify(env)).toBe('ConfigurationError');
    }
  });
});
