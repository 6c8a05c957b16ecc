import { randomBytes } from 'node:crypto';
import { IAMClient, ListAccessKeysCommand, ListUsersCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Candidates } from '../../functions/commons/fleet-input.js';
import {
  ACCOUNT_ID,
  CLAIM_KEY_ID,
  EXECUTION,
  PIN_KEY_ID,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  tagMac,
  useFakeKms,
  useHandler,
} from './support.js';

const { handler, deployment, vault } = useHandler<Candidates>(
  () => import('../../functions/listCandidates.js'),
);
const iam = resetBeforeEach(mockClient(IAMClient));
const sts = resetBeforeEach(mockClient(STSClient));

// KMS's HMAC keys, faked as support.ts does for every unit test; listCandidates may only verify.
const { kms } = useFakeKms();

/** The rotator's MAC of a tag's fields (tag-mac.ts's message), in base64. */
const macOf = (tag: 'pin' | 'claim', fields: string[]) =>
  tagMac(tag === 'pin' ? PIN_KEY_ID : CLAIM_KEY_ID, tag, fields);

/** IAM's unique id of a fixture user: what the signed tags name. */
const userIdOf = (userName: string) => `AIDA${userName.toUpperCase()}`;

/** The pin tags verifyKey writes for `path`, signed for the user (or for `signedFor`, another user's id). */
function signedPin(userName: string, path: string, signedFor = userIdOf(userName), accountId = ACCOUNT_ID) {
  const time = new Date(Date.now() - 60_000).toISOString();
  return [
    { Key: 'iam-key-rotator:vault-path', Value: path.replaceAll(',', ':') },
    {
      Key: 'iam-key-rotator:vault-path-mac',
      Value: `v1 ${time} ${macOf('pin', [accountId, signedFor, path, time])}`,
    },
  ];
}

/** Claim tags as createKey writes them at `claimedAt`: signed, or with a MAC made up by a tagger. */
function claim(userName: string, claimedAt: Date, keys: string[], how: 'signed' | 'forged') {
  const owner = 'arn:aws:states:eu-west-1:123456789012:execution:rotate-access-key:other abc';
  const value = [claimedAt.toISOString(), ...keys].join(' ');
  const mac =
    how === 'signed'
      ? macOf('claim', [ACCOUNT_ID, userIdOf(userName), owner, value])
      : randomBytes(32).toString('base64');
  return [
    { Key: 'iam-key-rotator:execution', Value: owner },
    { Key: 'iam-key-rotator:claim', Value: value },
    { Key: 'iam-key-rotator:claim-mac', Value: `v1 ${mac}` },
  ];
}

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
  /**
   * Where Vault serves the user's oldest Active key: default, its default path (the template's,
   * `aws/iam-users/<user>`, or `aws/iam-users/<account>/<user>` with accounts); null, nowhere.
   */
  servedAt?: string | null;
}

/** Stores the key pair at `path` in the file's Vault (KV v2 at `secret`). */
function serve(path: string, accessKeyId: string, extra: Record<string, unknown> = {}) {
  vault().writeSecret({
    mount: 'secret',
    path,
    data: { access_key: accessKeyId, secret_key: 'served-secret', ...extra },
  });
}

/** Puts each fixture's oldest Active key where it says Vault serves it. */
function serveAll(fixtures: Record<string, Fixture>, defaultPathOf: (userName: string) => string) {
  for (const [userName, fixture] of Object.entries(fixtures)) {
    const active = (fixture.keys ?? [])
      .filter((k) => k.Status === 'Active')
      .sort((a, b) => a.CreateDate.getTime() - b.CreateDate.getTime())[0];
    const path = fixture.servedAt === undefined ? defaultPathOf(userName) : fixture.servedAt;
    if (active && path !== null) serve(path, active.AccessKeyId);
  }
}

/** ListUsers in pages of two (Marker/IsTruncated), tags and keys per user, the tag list in pages too. */
function users(fixtures: Record<string, Fixture>) {
  serveAll(fixtures, (userName) => `aws/iam-users/${userName}`);
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
        UserId: userIdOf(UserName),
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
        tags: [...OPTED_IN, ...claim('busy', new Date(), ['AKIABUSY000000000001'], 'signed')],
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
    expect(candidates.due.map((u) => [u.userName, u.accessKeyId, u.keyAgeDays, u.vaultPath])).toEqual([
      ['due', 'AKIADUE0000000000001', 120, 'aws/iam-users/due'],
      ['staleClaim', 'AKIASTALE00000000001', 120, 'aws/iam-users/staleClaim'],
    ]);
    expect(candidates.failedUsers).toEqual([]);
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

describe('listCandidates places each due user where createKey would serve its key', () => {
  const due = (name: string, extra: Partial<Fixture> = {}): Fixture => ({
    tags: OPTED_IN,
    keys: [key(`AKIA${name.toUpperCase().padEnd(16, '0').slice(0, 16)}`, 120)],
    ...extra,
    ...(extra.tags ? { tags: [...OPTED_IN, ...extra.tags] } : {}),
  });
  const keyIdOf = (name: string) => `AKIA${name.toUpperCase().padEnd(16, '0').slice(0, 16)}`;

  it('gives a verified pin’s path to the child, and an unpinned user its default path serving its key', async () => {
    users({
      plain: due('plain'),
      vendor: due('vendor', {
        tags: signedPin('vendor', 'aws/iam-users/vendors/vendor'),
        servedAt: 'aws/iam-users/vendors/vendor',
      }),
      // Commas in a path are colons in the tag; the MAC is over the path itself.
      comma: due('comma', {
        tags: signedPin('comma', 'aws/iam-users/team,a/comma'),
        servedAt: 'aws/iam-users/team,a/comma',
      }),
    });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due.map((u) => [u.userName, u.vaultPath])).toEqual([
      ['plain', 'aws/iam-users/plain'],
      ['vendor', 'aws/iam-users/vendors/vendor'],
      ['comma', 'aws/iam-users/team,a/comma'],
    ]);
    expect(candidates.failedUsers).toEqual([]);
    // Two pins verified, never signed: listCandidates may only verify.
    expect(kms.commandCalls(VerifyMacCommand).map((c) => c.args[0].input.KeyId)).toEqual([
      PIN_KEY_ID,
      PIN_KEY_ID,
    ]);
    expect(kms.commandCalls(GenerateMacCommand)).toHaveLength(0);
  });

  it('reports a never-pinned user served elsewhere failed (InvalidInputError, the adoption reason) and starts nothing for it', async () => {
    users({
      custom: due('custom', { servedAt: 'aws/iam-users/vendors/custom' }),
      nowhere: due('nowhere', { servedAt: null }),
      other: due('other'),
    });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due.map((u) => u.userName)).toEqual(['other']);
    expect(candidates.failedUsers).toEqual([
      {
        accountId: ACCOUNT_ID,
        userName: 'custom',
        error: 'InvalidInputError',
        cause: expect.stringContaining(
          "'custom' has no iam-key-rotator:vault-path tag and vaultPath aws/iam-users/custom serves no key",
        ) as string,
      },
      {
        accountId: ACCOUNT_ID,
        userName: 'nowhere',
        error: 'InvalidInputError',
        cause: expect.stringContaining('nothing proves its consumers read aws/iam-users/nowhere') as string,
      },
    ]);
    expect(candidates.failedUsers[0]?.cause).toContain('"adoptVaultPath": true');
    // A due user placed nowhere is not skipped either.
    expect(candidates.skippedTotal).toBe(0);
  });

  it('reports a user whose tags IAM refuses failed with the error name, and lists the others', async () => {
    users({ refused: due('refused'), other: due('other') });
    iam
      .on(ListUserTagsCommand, { UserName: 'refused' })
      .rejects(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due.map((u) => u.userName)).toEqual(['other']);
    expect(candidates.failedUsers).toEqual([
      {
        accountId: ACCOUNT_ID,
        userName: 'refused',
        error: 'AwsRequestError',
        cause: expect.stringContaining('iam:ListUserTags') as string,
      },
    ]);
  });

  it('names at most 100 users it did not start and counts them all, so taggers cannot make the fleet too large', async () => {
    const fixtures = Object.fromEntries(
      Array.from({ length: 105 }, (_, i) => [`lost-${i}`, due(`lost-${i}`, { servedAt: null })]),
    );
    users({ ...fixtures, other: due('other') });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due.map((u) => u.userName)).toEqual(['other']);
    expect(candidates.failedUsers).toHaveLength(100);
    expect(candidates.failedUsersTotal).toBe(105);
  });

  it('reports a user whose default path holds another user’s key, or no key pair, failed', async () => {
    users({ borrowed: due('borrowed', { servedAt: null }), broken: due('broken', { servedAt: null }) });
    serve('aws/iam-users/borrowed', 'AKIASOMEONEELSE00001');
    vault().writeSecret({ mount: 'secret', path: 'aws/iam-users/broken', data: { note: 'no key here' } });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due).toEqual([]);
    expect(candidates.failedUsers.map((f) => [f.userName, f.error])).toEqual([
      ['borrowed', 'InvalidInputError'],
      ['broken', 'VaultDataError'],
    ]);
    expect(candidates.failedUsers[0]?.cause).toContain(
      'AKIASOMEONEELSE00001, which is not a key of this user',
    );
  });

  it('reports a pin changed outside the rotator (rewritten, copied from another user, malformed) failed', async () => {
    const rewritten = signedPin('rewritten', 'aws/iam-users/rewritten').map((t) =>
      t.Key === 'iam-key-rotator:vault-path' ? { ...t, Value: 'aws/iam-users/attacker' } : t,
    );
    users({
      rewritten: due('rewritten', { tags: rewritten, servedAt: 'aws/iam-users/attacker' }),
      // Another user's valid pin tags, copied: signed for another user id.
      copied: due('copied', {
        tags: signedPin('copied', 'aws/iam-users/copied', userIdOf('someone')),
      }),
      unsigned: due('unsigned', {
        tags: [
          { Key: 'iam-key-rotator:vault-path', Value: 'aws/iam-users/unsigned' },
          { Key: 'iam-key-rotator:vault-path-mac', Value: 'v1 not-a-time AAAA' },
        ],
      }),
      macOnly: due('macOnly', {
        tags: signedPin('macOnly', 'aws/iam-users/macOnly').filter(
          (t) => t.Key !== 'iam-key-rotator:vault-path',
        ),
      }),
    });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due).toEqual([]);
    expect(candidates.failedUsers.map((f) => [f.userName, f.error])).toEqual([
      ['rewritten', 'InvalidInputError'],
      ['copied', 'InvalidInputError'],
      ['unsigned', 'InvalidInputError'],
      ['macOnly', 'InvalidInputError'],
    ]);
    for (const failed of candidates.failedUsers) {
      expect(failed.cause, failed.userName).toContain(
        `the pin of '${failed.userName}' was changed outside the rotator`,
      );
      expect(failed.cause.length).toBeLessThanOrEqual(500);
    }
  });

  it('reports a signed pin that no longer serves the user’s key failed (a replayed older pin is not followed)', async () => {
    users({
      moved: due('moved', {
        tags: signedPin('moved', 'aws/iam-users/old-home/moved'),
        servedAt: 'aws/iam-users/moved',
      }),
    });
    serve('aws/iam-users/old-home/moved', 'AKIAMOVEDRETIRED0001');
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due).toEqual([]);
    expect(candidates.failedUsers).toEqual([
      {
        accountId: ACCOUNT_ID,
        userName: 'moved',
        error: 'InvalidInputError',
        cause: expect.stringContaining('a stale or replayed pin is not followed') as string,
      },
    ]);
  });

  it('holds a user back as rotationRunning only for a fresh claim whose MAC verifies', async () => {
    const now = new Date();
    users({
      running: due('running', { tags: claim('running', now, [keyIdOf('running')], 'signed') }),
      forged: due('forged', { tags: claim('forged', now, [keyIdOf('forged')], 'forged') }),
      unsignedClaim: due('unsignedClaim', {
        tags: claim('unsignedClaim', now, [], 'signed').filter((t) => t.Key !== 'iam-key-rotator:claim-mac'),
      }),
      // Signed for another user (its tags copied here): no claim of this user.
      copiedClaim: due('copiedClaim', {
        tags: claim('running', now, [keyIdOf('running')], 'signed'),
      }),
      future: due('future', {
        tags: claim('future', new Date(now.getTime() + 3_600_000), [], 'signed'),
      }),
    });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.skipped).toEqual([
      { accountId: ACCOUNT_ID, userName: 'running', reason: 'rotationRunning' },
    ]);
    expect(candidates.due.map((u) => u.userName)).toEqual([
      'forged',
      'unsignedClaim',
      'copiedClaim',
      'future',
    ]);
    expect(kms.commandCalls(VerifyMacCommand).every((c) => c.args[0].input.KeyId === CLAIM_KEY_ID)).toBe(
      true,
    );
    expect(kms.commandCalls(GenerateMacCommand)).toHaveLength(0);
  });

  it('does not verify a stale claim: it holds nobody back', async () => {
    users({ stale: due('stale', { tags: claim('stale', daysAgo(1), [], 'signed') }) });
    const candidates = await handler({ input: {}, execution: EXECUTION });
    expect(candidates.due.map((u) => u.userName)).toEqual(['stale']);
    expect(kms.commandCalls(VerifyMacCommand)).toHaveLength(0);
  });
});

describe('listCandidates across accounts', () => {
  /** Its target role trusts the rotator; another allowed account has none (AssumeRole is refused). */
  const MEMBER = '222222222222';
  const NO_ROLE = '333333333333';
  const ACCOUNTS_ENV = {
    ...FLEET_ENV,
    // Users of the same name in two accounts have two default paths.
    VAULT_PATH_TEMPLATE: '{prefix}{accountId}/{userName}',
    ROTATOR_ALLOWED_ACCOUNT_IDS: `${MEMBER},${NO_ROLE}`,
    ROTATOR_TARGET_EXTERNAL_ID: 'fleet-external-id',
  };

  /**
   * Each account's users. STS hands out credentials for MEMBER's role only; IAM answers by the
   * account of the credentials the client signs with (the function's own, or the assumed role's).
   */
  function accounts(byAccount: Record<string, Record<string, Fixture>>) {
    for (const [accountId, fixtures] of Object.entries(byAccount)) {
      serveAll(fixtures, (userName) => `aws/iam-users/${accountId}/${userName}`);
    }
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
        UserId: userIdOf(UserName),
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
