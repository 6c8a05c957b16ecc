import { IAMClient, ListAccessKeysCommand, ListUsersCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Candidates } from '../../functions/commons/fleet-input.js';
import { ACCOUNT_ID, EXECUTION, rejectionOf, resetBeforeEach, sdkError, useHandler } from './support.js';

const { handler, deployment } = useHandler<Candidates>(() => import('../../functions/listCandidates.js'));
const iam = resetBeforeEach(mockClient(IAMClient));
const sts = resetBeforeEach(mockClient(STSClient));

/** What the handlers here read besides setHandlerEnv's: the rotated path and the deployment's own account. */
const FLEET_ENV = { ROTATOR_USER_PATH: '/rotated/', ROTATOR_ACCOUNT_ID: ACCOUNT_ID };

beforeAll(() => {
  Object.assign(process.env, FLEET_ENV);
});

const DAY_MS = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);
const OPTED_IN = [{ Key: 'iam-key-rotator:rotate', Value: 'true' }];

interface Fixture {
  tags?: { Key: string; Value: string }[];
  keys?: { AccessKeyId: string; Status: 'Active' | 'Inactive'; CreateDate: Date }[];
}

/** ListUsers in pages of two (Marker/IsTruncated), tags and keys per user, the tag list in pages too. */
function users(fixtures: Record<string, Fixture>) {
  const names = Object.keys(fixtures);
  iam.on(ListUsersCommand).callsFake((input: { Marker?: string; PathPrefix?: string }) => {
    expect(input.PathPrefix).toBe('/rotated/');
    const start = Number(input.Marker ?? 0);
    const page = names.slice(start, start + 2);
    const more = start + 2 < names.length;
    return {
      Users: page.map((UserName) => ({
        UserName,
        Path: '/rotated/',
        UserId: 'AIDA',
        Arn: 'arn',
        CreateDate: new Date(),
      })),
      IsTruncated: more,
      ...(more ? { Marker: String(start + 2) } : {}),
    };
  });
  iam.on(ListUserTagsCommand).callsFake((input: { UserName: string; Marker?: string }) => {
    const tags = fixtures[input.UserName]?.tags ?? [];
    // The first page holds no tag at all: only the second one tells.
    return input.Marker
      ? { Tags: tags, IsTruncated: false }
      : { Tags: [], IsTruncated: true, Marker: 'next' };
  });
  iam.on(ListAccessKeysCommand).callsFake((input: { UserName: string }) => ({
    AccessKeyMetadata: (fixtures[input.UserName]?.keys ?? []).map((k) => ({
      ...k,
      UserName: input.UserName,
    })),
    IsTruncated: false,
  }));
}

const key = (id: string, ageDays: number, Status: 'Active' | 'Inactive' = 'Active') => ({
  AccessKeyId: id,
  Status,
  CreateDate: daysAgo(ageDays),
});

describe('listCandidates', () => {
  it('reads every page and says who is due and why the others are skipped', async () => {
    users({
      due: { tags: OPTED_IN, keys: [key('AKIADUE0000000000001', 120)] },
      untagged: { keys: [key('AKIAUNTAGGED00000001', 400)] },
      young: { tags: OPTED_IN, keys: [key('AKIAYOUNG00000000001', 5)] },
      pair: { tags: OPTED_IN, keys: [key('AKIAPAIR000000000001', 200), key('AKIAPAIR000000000002', 100)] },
      inactiveOnly: { tags: OPTED_IN, keys: [key('AKIAINACTIVE00000001', 300, 'Inactive')] },
      busy: {
        tags: [
          ...OPTED_IN,
          { Key: 'iam-key-rotator:execution', Value: 'arn:other abc' },
          { Key: 'iam-key-rotator:claim', Value: new Date().toISOString() },
        ],
        keys: [key('AKIABUSY000000000001', 120)],
      },
      staleClaim: {
        tags: [
          ...OPTED_IN,
          { Key: 'iam-key-rotator:execution', Value: 'arn:old abc' },
          { Key: 'iam-key-rotator:claim', Value: daysAgo(1).toISOString() },
        ],
        keys: [key('AKIASTALE00000000001', 120)],
      },
    });
    const candidates = await handler({ input: { maxKeyAgeDays: 90 }, execution: EXECUTION });
    expect(candidates.due.map((u) => [u.userName, u.accessKeyId, u.keyAgeDays])).toEqual([
      ['due', 'AKIADUE0000000000001', 120],
      ['staleClaim', 'AKIASTALE00000000001', 120],
    ]);
    expect(candidates.due[0]?.executionName).toMatch(/^fleet-[0-9a-f]{16}-due$/);
    expect(candidates.skipped).toEqual(
      [
        { userName: 'untagged', reason: 'notTagged' },
        { userName: 'young', reason: 'keyYoung' },
        { userName: 'pair', reason: 'twoKeys' },
        { userName: 'inactiveOnly', reason: 'noActiveKey' },
        { userName: 'busy', reason: 'rotationRunning' },
      ].map((skipped) => ({ accountId: ACCOUNT_ID, ...skipped })),
    );
    // No accounts asked for: the deployment's own, with its own credentials.
    expect(candidates.due.every((u) => u.accountId === ACCOUNT_ID)).toBe(true);
    expect(candidates).toMatchObject({
      accounts: [{ accountId: ACCOUNT_ID, skippedTotal: 5 }],
      failedAccounts: [],
      dryRun: false,
      maxConcurrency: 5,
      userDefaults: {},
    });
    expect(sts.calls()).toHaveLength(0);
  });

  it('lets a user with an Inactive second key through when the defaults allow deleting it; allUsersInPath ignores tags', async () => {
    const allowing = await deployment({ ...FLEET_ENV, ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true' });
    users({
      pair: { keys: [key('AKIAPAIR000000000001', 200), key('AKIAPAIR000000000002', 300, 'Inactive')] },
    });
    const candidates = await allowing({
      input: { allUsersInPath: true, userDefaults: { deleteInactiveKey: true } },
      execution: EXECUTION,
    });
    expect(candidates.due.map((u) => u.userName)).toEqual(['pair']);
  });

  it('refuses defaults that ask to delete an Inactive key where the deployment does not allow it', async () => {
    const error = await rejectionOf(
      handler({ input: { userDefaults: { deleteInactiveKey: true } }, execution: EXECUTION }),
    );
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('allowDeleteInactiveKey is false');
  });

  it('refuses bad input, and waits below the deployment floors, before any call', async () => {
    for (const input of [
      { maxKeyAgeDays: 0 },
      { selector: 'all' },
      { allUsersInPath: true, tagKey: 'team' },
      { userDefaults: { graceSeconds: 10 } },
      { userDefaults: { userName: 'x' } },
    ]) {
      const error = await rejectionOf(handler({ input, execution: EXECUTION }));
      expect(error.name, JSON.stringify(input)).toBe('InvalidInputError');
    }
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses cleanly, naming the limit, when more users are due than one fleet execution can hand over', async () => {
    const many: Record<string, Fixture> = {};
    for (let i = 0; i < 401; i++)
      many[`u${i}`] = { tags: OPTED_IN, keys: [key(`AKIA${String(i).padStart(16, '0')}`, 100)] };
    users(many);
    const error = await rejectionOf(handler({ input: {}, execution: EXECUTION }));
    expect(error.name).toBe('FleetTooLargeError');
    expect(error.message).toContain('401 users are due');
  });

  it('names at most 200 skipped users but counts them all, so a large path never blocks a fleet', async () => {
    const many: Record<string, Fixture> = {
      due: { tags: OPTED_IN, keys: [key('AKIADUE0000000000001', 100)] },
    };
    for (let i = 0; i < 3000; i++) many[`x${i}`] = { keys: [key(`AKIA${String(i).padStart(16, '0')}`, 100)] };
    users(many);
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due.map((u) => u.userName)).toEqual(['due']);
    expect(candidates.skipped).toHaveLength(200);
    expect(candidates.skipped[0]).toEqual({ accountId: ACCOUNT_ID, userName: 'x0', reason: 'notTagged' });
    expect(candidates.skippedTotal).toBe(3000);
  });
});

describe('listCandidates across accounts', () => {
  /** Its target role trusts the rotator; another allowed account has none (AssumeRole is refused). */
  const MEMBER = '222222222222';
  const NO_ROLE = '333333333333';
  const ACCOUNTS_ENV = {
    ...FLEET_ENV,
    ROTATOR_ALLOWED_ACCOUNT_IDS: `${MEMBER},${NO_ROLE}`,
    ROTATOR_TARGET_EXTERNAL_ID: 'fleet-external-id',
  };

  /**
   * Each account's users. STS hands out credentials for MEMBER's role only; IAM answers by the
   * account of the credentials the client signs with (the function's own, or the assumed role's).
   */
  function accounts(byAccount: Record<string, Record<string, Fixture>>) {
    sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
      const account = input.RoleArn.split(':')[4] ?? '';
      if (account !== MEMBER) return Promise.reject(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
      return {
        Credentials: {
          AccessKeyId: `ASIA${account}`,
          SecretAccessKey: 'assumed-secret',
          SessionToken: 'assumed-token',
          Expiration: new Date(Date.now() + 900_000),
        },
      };
    });
    const fixturesOf = async (getClient: () => { config: unknown }) => {
      const { credentials } = getClient().config as { credentials: () => Promise<{ accessKeyId: string }> };
      const { accessKeyId } = await credentials();
      return byAccount[accessKeyId.startsWith('ASIA') ? accessKeyId.slice(4) : ACCOUNT_ID] ?? {};
    };
    iam.on(ListUsersCommand).callsFake(async (_input: unknown, getClient: () => { config: unknown }) => ({
      Users: Object.keys(await fixturesOf(getClient)).map((UserName) => ({
        UserName,
        Path: '/rotated/',
        UserId: 'AIDA',
        Arn: 'arn',
        CreateDate: new Date(),
      })),
      IsTruncated: false,
    }));
    iam
      .on(ListUserTagsCommand)
      .callsFake(async (input: { UserName: string }, getClient: () => { config: unknown }) => ({
        Tags: (await fixturesOf(getClient))[input.UserName]?.tags ?? [],
        IsTruncated: false,
      }));
    iam
      .on(ListAccessKeysCommand)
      .callsFake(async (input: { UserName: string }, getClient: () => { config: unknown }) => ({
        AccessKeyMetadata: ((await fixturesOf(getClient))[input.UserName]?.keys ?? []).map((k) => ({
          ...k,
          UserName: input.UserName,
        })),
        IsTruncated: false,
      }));
  }

  const due = (id: string): Fixture => ({ tags: OPTED_IN, keys: [key(id, 120)] });

  it('lists each account asked for with its credentials; a user of the same name gets a child per account', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    accounts({
      [ACCOUNT_ID]: { shared: due('AKIAOWN0000000000001') },
      [MEMBER]: {
        shared: due('AKIAMEMBER0000000001'),
        young: { tags: OPTED_IN, keys: [key('AKIAYOUNG00000000001', 3)] },
      },
    });
    const candidates = await fleet({ input: { accountIds: [ACCOUNT_ID, MEMBER] }, execution: EXECUTION });
    expect(candidates.due.map((u) => [u.accountId, u.userName, u.accessKeyId])).toEqual([
      [ACCOUNT_ID, 'shared', 'AKIAOWN0000000000001'],
      [MEMBER, 'shared', 'AKIAMEMBER0000000001'],
    ]);
    const [own, member] = candidates.due.map((u) => u.executionName);
    expect(own).toMatch(/^fleet-[0-9a-f]{16}-shared$/);
    expect(member).toMatch(/^fleet-[0-9a-f]{16}-shared$/);
    expect(member).not.toBe(own);
    expect(candidates.skipped).toEqual([{ accountId: MEMBER, userName: 'young', reason: 'keyYoung' }]);
    expect(candidates.accounts).toEqual([
      { accountId: ACCOUNT_ID, skippedTotal: 0 },
      { accountId: MEMBER, skippedTotal: 1 },
    ]);
    expect(candidates.failedAccounts).toEqual([]);
    // One AssumeRole, as listCandidates, for the member account only.
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      {
        RoleArn: `arn:aws:iam::${MEMBER}:role/iam-key-rotator-target`,
        RoleSessionName: 'iam-key-rotator-run-1',
        ExternalId: 'fleet-external-id',
        SourceIdentity: 'listCandidates',
        DurationSeconds: 900,
      },
    ]);
  });

  it('records an account whose target role is refused and lists the others (allowedAccounts: every allowed account)', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    accounts({
      [ACCOUNT_ID]: { alice: due('AKIAOWN0000000000001') },
      [MEMBER]: { bob: due('AKIAMEMBER0000000001') },
      [NO_ROLE]: { carol: due('AKIANOROLE0000000001') },
    });
    const candidates = await fleet({ input: { allowedAccounts: true }, execution: EXECUTION });
    expect(candidates.due.map((u) => [u.accountId, u.userName])).toEqual([
      [ACCOUNT_ID, 'alice'],
      [MEMBER, 'bob'],
    ]);
    expect(candidates.accounts.map((a) => a.accountId)).toEqual([ACCOUNT_ID, MEMBER]);
    expect(candidates.failedAccounts).toEqual([
      {
        accountId: NO_ROLE,
        error: 'TargetAccountAccessError',
        cause: expect.stringContaining(
          `cannot assume arn:aws:iam::${NO_ROLE}:role/iam-key-rotator-target (AccessDenied)`,
        ) as string,
      },
    ]);
  });

  it('fails as a whole when its only account cannot be listed: nothing is due, nothing recorded', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    accounts({ [NO_ROLE]: { carol: due('AKIANOROLE0000000001') } });
    const error = await rejectionOf(fleet({ input: { accountIds: [NO_ROLE] }, execution: EXECUTION }));
    expect(error.name).toBe('TargetAccountAccessError');
    expect(iam.calls()).toHaveLength(1);
  });

  it('refuses an account the deployment may not rotate in before any call', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    for (const accountIds of [['444444444444'], [ACCOUNT_ID, '444444444444']]) {
      const error = await rejectionOf(fleet({ input: { accountIds }, execution: EXECUTION }));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain('444444444444 is not an account this deployment may rotate in');
    }
    // A deployment without allowed accounts rotates in its own only.
    const own = await deployment(FLEET_ENV);
    const error = await rejectionOf(own({ input: { accountIds: [MEMBER] }, execution: EXECUTION }));
    expect(error.name).toBe('InvalidInputError');
    expect(iam.calls()).toHaveLength(0);
    expect(sts.calls()).toHaveLength(0);
  });

  it('counts the due users of every account against the limit of one fleet execution', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    const many = (prefix: string) =>
      Object.fromEntries(
        Array.from({ length: 201 }, (_, i) => [`u${i}`, due(`AKIA${prefix}${String(i).padStart(12, '0')}`)]),
      );
    accounts({ [ACCOUNT_ID]: many('OWN0'), [MEMBER]: many('MEMB') });
    const error = await rejectionOf(
      fleet({ input: { accountIds: [ACCOUNT_ID, MEMBER] }, execution: EXECUTION }),
    );
    expect(error.name).toBe('FleetTooLargeError');
    expect(error.message).toContain('402 users are due');
  });
});
