import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AccountId,
  checkAccountAllowed,
  loadAccountSettings,
  partitionOf,
  targetRoleArn,
} from '../../../functions/commons/accounts.js';
import { rejectionOf } from '../support.js';

const OWN = '111111111111';
const MEMBER = '222222222222';
const OTHER = '333333333333';

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('AccountId', () => {
  it.each(['123456789012', '000000000000'])('accepts %j', (id) => {
    expect(AccountId.safeParse(id).success).toBe(true);
  });

  it.each(['12345678901', '1234567890123', '12345678901a', ' 123456789012', ''])('refuses %j', (id) => {
    expect(AccountId.safeParse(id).success).toBe(false);
  });
});

describe('loadAccountSettings', () => {
  it('reads a deployment that rotates in its own account only', () => {
    expect(loadAccountSettings({ ROTATOR_ACCOUNT_ID: OWN })).toEqual({
      ownAccountId: OWN,
      allowedAccountIds: [],
      targetRoleName: 'iam-key-rotator-target',
    });
  });

  it('treats an empty allowed list and an empty ExternalId as unset', () => {
    expect(
      loadAccountSettings({
        ROTATOR_ACCOUNT_ID: OWN,
        ROTATOR_ALLOWED_ACCOUNT_IDS: '',
        ROTATOR_TARGET_EXTERNAL_ID: '',
      }),
    ).toEqual({ ownAccountId: OWN, allowedAccountIds: [], targetRoleName: 'iam-key-rotator-target' });
  });

  it('parses the allowed list: trimmed, empty entries, duplicates and the own account dropped', () => {
    const settings = loadAccountSettings({
      ROTATOR_ACCOUNT_ID: OWN,
      ROTATOR_ALLOWED_ACCOUNT_IDS: ` ${MEMBER}, ${OTHER},,${MEMBER} ,${OWN}`,
      ROTATOR_TARGET_ROLE_NAME: 'rotator-target',
      ROTATOR_TARGET_EXTERNAL_ID: 'org-7f3a:rotator',
    });
    expect(settings).toEqual({
      ownAccountId: OWN,
      allowedAccountIds: [MEMBER, OTHER],
      targetRoleName: 'rotator-target',
      externalId: 'org-7f3a:rotator',
    });
  });

  it.each([
    ['no ROTATOR_ACCOUNT_ID', {}, 'ROTATOR_ACCOUNT_ID'],
    ['a ROTATOR_ACCOUNT_ID that is no account id', { ROTATOR_ACCOUNT_ID: '1234' }, 'ROTATOR_ACCOUNT_ID'],
    [
      'an allowed entry that is no account id',
      {
        ROTATOR_ACCOUNT_ID: OWN,
        ROTATOR_ALLOWED_ACCOUNT_IDS: `${MEMBER},22222`,
        ROTATOR_TARGET_EXTERNAL_ID: 'x1',
      },
      'ROTATOR_ALLOWED_ACCOUNT_IDS',
    ],
    [
      'allowed accounts without an ExternalId',
      { ROTATOR_ACCOUNT_ID: OWN, ROTATOR_ALLOWED_ACCOUNT_IDS: MEMBER },
      'ROTATOR_TARGET_EXTERNAL_ID: ROTATOR_TARGET_EXTERNAL_ID is required when ROTATOR_ALLOWED_ACCOUNT_IDS is set',
    ],
    [
      'an ExternalId of one character',
      { ROTATOR_ACCOUNT_ID: OWN, ROTATOR_TARGET_EXTERNAL_ID: 'x' },
      'ROTATOR_TARGET_EXTERNAL_ID',
    ],
    [
      'an ExternalId with a space',
      { ROTATOR_ACCOUNT_ID: OWN, ROTATOR_TARGET_EXTERNAL_ID: 'two words' },
      'ROTATOR_TARGET_EXTERNAL_ID',
    ],
    [
      'a role name with a slash',
      { ROTATOR_ACCOUNT_ID: OWN, ROTATOR_TARGET_ROLE_NAME: 'path/role' },
      'ROTATOR_TARGET_ROLE_NAME',
    ],
  ])('throws ConfigurationError for %s', (_what, env, named) => {
    const error = errorOf(() => loadAccountSettings(env));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain(named);
  });
});

describe('accountSettings', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('reads the environment once per container', async () => {
    vi.resetModules();
    vi.stubEnv('ROTATOR_ACCOUNT_ID', OWN);
    const { accountSettings } = await import('../../../functions/commons/accounts.js');
    expect(accountSettings().ownAccountId).toBe(OWN);
    vi.stubEnv('ROTATOR_ACCOUNT_ID', MEMBER);
    expect(accountSettings().ownAccountId).toBe(OWN);
  });

  it('throws ConfigurationError when the environment lacks the account', async () => {
    vi.resetModules();
    vi.stubEnv('ROTATOR_ACCOUNT_ID', undefined);
    const { accountSettings } = await import('../../../functions/commons/accounts.js');
    const error = await rejectionOf(Promise.resolve().then(accountSettings));
    expect(error.name).toBe('ConfigurationError');
  });
});

describe('checkAccountAllowed', () => {
  const settings = loadAccountSettings({
    ROTATOR_ACCOUNT_ID: OWN,
    ROTATOR_ALLOWED_ACCOUNT_IDS: MEMBER,
    ROTATOR_TARGET_EXTERNAL_ID: 'external-id',
  });

  it.each([OWN, MEMBER])('accepts %s', (id) => {
    expect(() => checkAccountAllowed(id, settings)).not.toThrow();
  });

  it('refuses any other account with InvalidInputError naming the allowed ones', () => {
    const error = errorOf(() => checkAccountAllowed(OTHER, settings));
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toBe(
      `invalid execution input: accountId: ${OTHER} is not an account this deployment may rotate in (allowed: ${OWN}, ${MEMBER})`,
    );
  });
});

describe('partitionOf and targetRoleArn', () => {
  const settings = loadAccountSettings({
    ROTATOR_ACCOUNT_ID: OWN,
    ROTATOR_TARGET_ROLE_NAME: 'rotator-target',
  });

  it.each([
    ['eu-west-1', 'aws'],
    ['us-east-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('puts %s in partition %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });

  it("names the deployment's target role in the account, in the region's partition", () => {
    expect(targetRoleArn(MEMBER, 'eu-west-1', settings)).toBe(`arn:aws:iam::${MEMBER}:role/rotator-target`);
    expect(targetRoleArn(MEMBER, 'cn-north-1', settings)).toBe(
      `arn:aws-cn:iam::${MEMBER}:role/rotator-target`,
    );
    expect(targetRoleArn(MEMBER, 'us-gov-east-1', settings)).toBe(
      `arn:aws-us-gov:iam::${MEMBER}:role/rotator-target`,
    );
  });
});
