import { describe, expect, it } from 'vitest';
import type { AccountSettings } from '../../../functions/commons/accounts.js';
import { childExecutionName, FleetInput, fleetAccounts } from '../../../functions/commons/fleet-input.js';

const OWN = '111111111111';
const MEMBER = '222222222222';
const OTHER = '333333333333';
const SETTINGS: AccountSettings = {
  ownAccountId: OWN,
  allowedAccountIds: [MEMBER, OTHER],
  targetRoleName: 'iam-key-rotator-target',
  externalId: 'fleet-external-id',
};

/** The messages of a refused input, by field. */
const problems = (input: unknown) => {
  const parsed = FleetInput.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('FleetInput accounts', () => {
  it('takes accountIds (1..N distinct 12-digit ids) or allowedAccounts: true; neither is the own account', () => {
    expect(FleetInput.parse({ accountIds: [MEMBER, OWN] }).accountIds).toEqual([MEMBER, OWN]);
    expect(FleetInput.parse({ allowedAccounts: true }).allowedAccounts).toBe(true);
    const neither = FleetInput.parse({});
    expect(neither.accountIds).toBeUndefined();
    expect(neither.allowedAccounts).toBeUndefined();
  });

  it.each([
    [{ accountIds: [] }, 'accountIds: Too small'],
    [{ accountIds: ['12345678901'] }, 'accountIds.0: must be a 12-digit AWS account id'],
    [{ accountIds: ['1234567890123'] }, 'accountIds.0: must be a 12-digit AWS account id'],
    [{ accountIds: [123456789012] }, 'accountIds.0: Invalid input'],
    [{ accountIds: [MEMBER, MEMBER] }, 'accountIds: must not repeat an account'],
    [{ accountIds: MEMBER }, 'accountIds: Invalid input'],
    [{ allowedAccounts: 'yes' }, 'allowedAccounts: Invalid input'],
    [{ accountIds: [MEMBER], allowedAccounts: true }, ': accountIds and allowedAccounts exclude each other'],
  ])('refuses %j', (input, message) => {
    expect(problems(input).join('; ')).toContain(message);
  });

  it('resolves the accounts a fleet lists: those named, every allowed one, or the own one', () => {
    expect(fleetAccounts({ accountIds: [OTHER, OWN] }, SETTINGS)).toEqual([OTHER, OWN]);
    expect(fleetAccounts({ allowedAccounts: true }, SETTINGS)).toEqual([OWN, MEMBER, OTHER]);
    expect(fleetAccounts({}, SETTINGS)).toEqual([OWN]);
    expect(fleetAccounts({ allowedAccounts: false }, SETTINGS)).toEqual([OWN]);
    expect(fleetAccounts({ allowedAccounts: true }, { ...SETTINGS, allowedAccountIds: [] })).toEqual([OWN]);
  });

  it('refuses a named account the deployment may not rotate in, as InvalidInputError', () => {
    expect(() => fleetAccounts({ accountIds: [MEMBER, '444444444444'] }, SETTINGS)).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        message: expect.stringContaining(
          '444444444444 is not an account this deployment may rotate in',
        ) as string,
      }),
    );
    expect(() => fleetAccounts({ accountIds: [MEMBER] }, { ...SETTINGS, allowedAccountIds: [] })).toThrow(
      expect.objectContaining({ name: 'InvalidInputError' }),
    );
  });
});

describe('childExecutionName', () => {
  const FLEET = 'arn:aws:states:eu-west-1:111111111111:execution:iam-key-rotator-fleet-prod:nightly';

  it('is the same for the same fleet, account and user, and differs when any of them does', () => {
    const name = childExecutionName(FLEET, OWN, 'alice');
    expect(name).toMatch(/^fleet-[0-9a-f]{16}-alice$/);
    expect(childExecutionName(FLEET, OWN, 'alice')).toBe(name);
    const others = [
      childExecutionName(FLEET, MEMBER, 'alice'),
      childExecutionName(`${FLEET}-2`, OWN, 'alice'),
      childExecutionName(FLEET, OWN, 'alice2'),
    ];
    expect(new Set([name, ...others]).size).toBe(4);
  });

  it('keeps to Step Functions’ execution names: at most 80 characters, none it refuses', () => {
    const name = childExecutionName(FLEET, MEMBER, `${'a'.repeat(60)}@x.org,+=`);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[\w.@+=-]+$/);
  });
});

describe('FleetInput maxDuePerAccount', () => {
  it('takes 1..10,000 whole users, and leaves it unset (the deployment’s) when not given', () => {
    expect(FleetInput.parse({ maxDuePerAccount: 1 }).maxDuePerAccount).toBe(1);
    expect(FleetInput.parse({ maxDuePerAccount: 10_000 }).maxDuePerAccount).toBe(10_000);
    expect(FleetInput.parse({}).maxDuePerAccount).toBeUndefined();
  });

  it.each([0, 10_001, 2.5, '100', null])('refuses %j', (maxDuePerAccount) => {
    expect(problems({ maxDuePerAccount }).join('; ')).toMatch(/^maxDuePerAccount: /);
  });
});
