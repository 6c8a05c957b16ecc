import { randomBytes } from 'node:crypto';
import { IAMClient, ListAccessKeysCommand, ListUsersCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { GenerateMacCommand, VerifyMacCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AccountListed, AccountListing, DueUser } from '../../functions/commons/fleet-input.js';
import { runKeys } from '../../functions/commons/fleet-store.js';
import {
  ACCOUNT_ID,
  CLAIM_KEY_ID,
  EXECUTION,
  FLEET_BUCKET,
  FLEET_BUCKET_ENV,
  FLEET_KEY_ARN,
  PIN_KEY_ID,
  publishedMetrics,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  tagMac,
  useFakeKms,
  useFakeS3,
  useHandler,
} from './support.js';

const { handler, deployment, vault } = useHandler<AccountListed>(
  () => import('../../functions/listCandidates.js'),
);
const iam = resetBeforeEach(mockClient(IAMClient));
const sts = resetBeforeEach(mockClient(STSClient));
// The fleet's bucket: what listCandidates writes is what these tests read.
const { bucket } = useFakeS3();
const KEYS = runKeys(EXECUTION);

type Handler = (event: unknown) => Promise<AccountListed>;

/** One account's listing (its own, unless named): the result, the due users' JSON Lines and the account's record. */
async function list(input: unknown, options: { accountId?: string; fn?: Handler } = {}) {
  const accountId = options.accountId ?? ACCOUNT_ID;
  const result = await (options.fn ?? handler)({ input, execution: EXECUTION, accountId });
  const due = bucket.objects.has(KEYS.due(accountId)) ? bucket.jsonLines<DueUser>(KEYS.due(accountId)) : [];
  return { result, due, listing: bucket.json<AccountListing>(KEYS.account(accountId)) };
}

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

/** What the handlers here read besides setHandlerEnv's: the rotated path, the own account, the fleet's bucket. */
const FLEET_ENV = { ROTATOR_USER_PATH: '/rotated/', ROTATOR_ACCOUNT_ID: ACCOUNT_ID, ...FLEET_BUCKET_ENV };

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
    const { result, due, listing } = await list({ maxKeyAgeDays: 90 });
    expect(due.map((u) => [u.userName, u.accessKeyId, u.keyAgeDays, u.vaultPath])).toEqual([
      ['due', 'AKIADUE0000000000001', 120, 'aws/iam-users/due'],
      ['staleClaim', 'AKIASTALE00000000001', 120, 'aws/iam-users/staleClaim'],
    ]);
    expect(listing.failedUsers).toEqual([]);
    expect(due[0]?.executionName).toMatch(/^fleet-[0-9a-f]{16}-due$/);
    expect(listing.skipped).toEqual(
      [
        { userName: 'untagged', reason: 'notTagged' },
        { userName: 'young', reason: 'keyYoung' },
        { userName: 'pair', reason: 'twoKeys' },
        { userName: 'inactiveOnly', reason: 'noActiveKey' },
        { userName: 'busy', reason: 'rotationRunning' },
      ].map((skipped) => ({ accountId: ACCOUNT_ID, ...skipped })),
    );
    // No accounts asked for: the deployment's own, with its own credentials.
    expect(due.every((u) => u.accountId === ACCOUNT_ID)).toBe(true);
    expect(result).toEqual({
      accountId: ACCOUNT_ID,
      due: 2,
      deferred: 0,
      skipped: 5,
      failedUsers: 0,
      dueKey: `runs/run-1/due/${ACCOUNT_ID}.jsonl`,
    });
    expect(listing).toMatchObject({ accountId: ACCOUNT_ID, due: 2, maxDuePerAccount: 1000, deferred: [] });
    expect(sts.calls()).toHaveLength(0);
  });

  it('writes only under its run’s prefix, each object sealed with the bucket’s key (SSE-KMS, a bucket key), names and ids only', async () => {
    users({ due: { tags: OPTED_IN, keys: [key('AKIADUE0000000000001', 120)] } });
    await list({});
    expect([...bucket.objects.keys()].sort()).toEqual([
      `runs/run-1/accounts/${ACCOUNT_ID}.json`,
      `runs/run-1/due/${ACCOUNT_ID}.jsonl`,
    ]);
    for (const { put, body } of bucket.objects.values()) {
      expect(put).toMatchObject({
        Bucket: FLEET_BUCKET,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: FLEET_KEY_ARN,
        BucketKeyEnabled: true,
      });
      expect(body).not.toContain('served-secret');
    }
    // A retried invocation writes the same objects again.
    const first = new Map([...bucket.objects].map(([k, v]) => [k, v.body]));
    await list({});
    expect(new Map([...bucket.objects].map(([k, v]) => [k, v.body]))).toEqual(first);
  });

  it('publishes the account’s due and deferred users and its opted-in users’ oldest Active key age (embedded metrics)', async () => {
    users({
      a: { tags: OPTED_IN, keys: [key('AKIAA000000000000001', 100)] },
      b: { tags: OPTED_IN, keys: [key('AKIAB000000000000001', 200)] },
      young: { tags: OPTED_IN, keys: [key('AKIAYOUNG00000000001', 5), key('AKIAYOUNG00000000002', 3)] },
      // Not opted in: its older key is no rotator's business.
      untagged: { keys: [key('AKIAUNTAGGED00000001', 900)] },
      inactive: { tags: OPTED_IN, keys: [key('AKIAINACTIVE00000001', 800, 'Inactive')] },
    });
    const [line] = await publishedMetrics('WARN', () => list({ maxDuePerAccount: 1 }));
    expect(line).toMatchObject({
      AccountId: ACCOUNT_ID,
      UsersDue: 1,
      UsersDeferred: 1,
      OldestActiveKeyAgeDays: 200,
    });
    // The embedded metric format's document: what CloudWatch makes metrics of, and how.
    expect((line as { _aws?: unknown } | undefined)?._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'IamKeyRotator',
          Dimensions: [['AccountId'], []],
          Metrics: [
            { Name: 'UsersDue', Unit: 'Count' },
            { Name: 'UsersDeferred', Unit: 'Count' },
            { Name: 'OldestActiveKeyAgeDays', Unit: 'None' },
          ],
        },
      ],
    });
  });

  it('lets a user with an Inactive second key through when the defaults allow deleting it; allUsersInPath ignores tags', async () => {
    const allowing = await deployment({ ...FLEET_ENV, ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true' });
    users({
      pair: { keys: [key('AKIAPAIR000000000001', 200), key('AKIAPAIR000000000002', 300, 'Inactive')] },
    });
    const { due } = await list(
      { allUsersInPath: true, userDefaults: { deleteInactiveKey: true } },
      { fn: allowing },
    );
    expect(due.map((u) => u.userName)).toEqual(['pair']);
  });

  it('refuses defaults that ask to delete an Inactive key where the deployment does not allow it', async () => {
    const error = await rejectionOf(
      handler({
        input: { userDefaults: { deleteInactiveKey: true } },
        execution: EXECUTION,
        accountId: ACCOUNT_ID,
      }),
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
      { maxDuePerAccount: 0 },
      { maxDuePerAccount: 10_001 },
      { maxDuePerAccount: 1.5 },
    ]) {
      const error = await rejectionOf(handler({ input, execution: EXECUTION, accountId: ACCOUNT_ID }));
      expect(error.name, JSON.stringify(input)).toBe('InvalidInputError');
    }
    for (const event of [
      { input: {}, execution: EXECUTION },
      { input: {}, execution: EXECUTION, accountId: '12345' },
    ]) {
      expect((await rejectionOf(handler(event))).name).toBe('InvalidInputError');
    }
    expect(iam.calls()).toHaveLength(0);
    expect(bucket.objects.size).toBe(0);
  });

  it('takes the oldest keys first up to maxDuePerAccount; the rest are deferred, oldest first, not failed', async () => {
    const fixtures: Record<string, Fixture> = {};
    // Listed in name order, aged in no order: u00 is 100 days old, u07 the oldest at 170.
    const ages = [100, 150, 120, 160, 110, 140, 130, 170, 105, 115, 125, 135];
    ages.forEach((ageDays, i) => {
      const name = `u${String(i).padStart(2, '0')}`;
      fixtures[name] = { tags: OPTED_IN, keys: [key(`AKIA${name.toUpperCase().padEnd(16, '0')}`, ageDays)] };
    });
    users(fixtures);
    const { result, due, listing } = await list({ maxDuePerAccount: 10 });
    const byAge = Object.keys(fixtures).sort(
      (a, b) => (ages[Number(b.slice(1))] ?? 0) - (ages[Number(a.slice(1))] ?? 0),
    );
    expect(due.map((u) => u.userName)).toEqual(byAge.slice(0, 10));
    expect(listing.deferred).toEqual(
      byAge.slice(10).map((userName) => ({
        accountId: ACCOUNT_ID,
        userName,
        keyAgeDays: ages[Number(userName.slice(1))],
      })),
    );
    expect(listing.deferred.map((d) => d.keyAgeDays)).toEqual([105, 100]);
    expect(listing.failedUsers).toEqual([]);
    expect(result).toMatchObject({ due: 10, deferred: 2, failedUsers: 0 });
    expect(listing.maxDuePerAccount).toBe(10);
  });

  it('a user the rotator cannot place frees its place for the next oldest: failed, never deferred', async () => {
    users({
      oldest: { tags: OPTED_IN, keys: [key('AKIAOLDEST0000000001', 300)], servedAt: null },
      second: { tags: OPTED_IN, keys: [key('AKIASECOND0000000001', 200)] },
      third: { tags: OPTED_IN, keys: [key('AKIATHIRD00000000001', 150)] },
      fourth: { tags: OPTED_IN, keys: [key('AKIAFOURTH0000000001', 100)] },
    });
    const { due, listing } = await list({ maxDuePerAccount: 2 });
    expect(due.map((u) => u.userName)).toEqual(['second', 'third']);
    expect(listing.failedUsers.map((f) => [f.userName, f.error])).toEqual([['oldest', 'InvalidInputError']]);
    expect(listing.deferred.map((d) => d.userName)).toEqual(['fourth']);
  });

  it('takes the deployment’s maxDuePerAccount by default, and refuses an input asking for more', async () => {
    const capped = await deployment({ ...FLEET_ENV, ROTATOR_MAX_DUE_PER_ACCOUNT: '2' });
    users({
      a: { tags: OPTED_IN, keys: [key('AKIAA000000000000001', 100)] },
      b: { tags: OPTED_IN, keys: [key('AKIAB000000000000001', 200)] },
      c: { tags: OPTED_IN, keys: [key('AKIAC000000000000001', 300)] },
    });
    const { due, listing } = await list({}, { fn: capped });
    expect(due.map((u) => u.userName)).toEqual(['c', 'b']);
    expect(listing.deferred.map((d) => d.userName)).toEqual(['a']);
    // An input may lower it.
    expect((await list({ maxDuePerAccount: 1 }, { fn: capped })).due.map((u) => u.userName)).toEqual(['c']);
    const error = await rejectionOf(
      capped({ input: { maxDuePerAccount: 3 }, execution: EXECUTION, accountId: ACCOUNT_ID }),
    );
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain("maxDuePerAccount: 3 is above the deployment's maxDuePerAccount (2)");
  });

  it('lists 3,000 users not due in full in its record and returns only counts: a large path never blocks a fleet', async () => {
    const many: Record<string, Fixture> = {
      due: { tags: OPTED_IN, keys: [key('AKIADUE0000000000001', 100)] },
    };
    for (let i = 0; i < 3000; i++) many[`x${i}`] = { keys: [key(`AKIA${String(i).padStart(16, '0')}`, 100)] };
    users(many);
    const { result, due, listing } = await list({});
    expect(due.map((u) => u.userName)).toEqual(['due']);
    expect(listing.skipped).toHaveLength(3000);
    expect(listing.skipped[0]).toEqual({ accountId: ACCOUNT_ID, userName: 'x0', reason: 'notTagged' });
    expect(result.skipped).toBe(3000);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(1024);
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
    const candidates = await list({});
    expect(candidates.due.map((u) => [u.userName, u.vaultPath])).toEqual([
      ['plain', 'aws/iam-users/plain'],
      ['vendor', 'aws/iam-users/vendors/vendor'],
      ['comma', 'aws/iam-users/team,a/comma'],
    ]);
    expect(candidates.listing.failedUsers).toEqual([]);
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
    const candidates = await list({});
    expect(candidates.due.map((u) => u.userName)).toEqual(['other']);
    expect(candidates.listing.failedUsers).toEqual([
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
    expect(candidates.listing.failedUsers[0]?.cause).toContain('"adoptVaultPath": true');
    // A due user placed nowhere is not skipped either.
    expect(candidates.result.skipped).toBe(0);
  });

  it('reports a user whose tags IAM refuses failed with the error name, and lists the others', async () => {
    users({ refused: due('refused'), other: due('other') });
    iam
      .on(ListUserTagsCommand, { UserName: 'refused' })
      .rejects(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
    const candidates = await list({});
    expect(candidates.due.map((u) => u.userName)).toEqual(['other']);
    expect(candidates.listing.failedUsers).toEqual([
      {
        accountId: ACCOUNT_ID,
        userName: 'refused',
        error: 'AwsRequestError',
        cause: expect.stringContaining('iam:ListUserTags') as string,
      },
    ]);
  });

  it('records every user it did not start and returns 5 names at most, so taggers cannot make the fleet’s state large', async () => {
    const fixtures = Object.fromEntries(
      Array.from({ length: 105 }, (_, i) => [`lost-${i}`, due(`lost-${i}`, { servedAt: null })]),
    );
    users({ ...fixtures, other: due('other') });
    const candidates = await list({});
    expect(candidates.due.map((u) => u.userName)).toEqual(['other']);
    expect(candidates.listing.failedUsers).toHaveLength(105);
    expect(candidates.result.failedUsers).toBe(105);
    expect(candidates.result.failedUserNames).toEqual(['lost-0', 'lost-1', 'lost-2', 'lost-3', 'lost-4']);
  });

  it('reports a user whose default path holds another user’s key, or no key pair, failed', async () => {
    users({ borrowed: due('borrowed', { servedAt: null }), broken: due('broken', { servedAt: null }) });
    serve('aws/iam-users/borrowed', 'AKIASOMEONEELSE00001');
    vault().writeSecret({ mount: 'secret', path: 'aws/iam-users/broken', data: { note: 'no key here' } });
    const candidates = await list({});
    expect(candidates.due).toEqual([]);
    expect(candidates.listing.failedUsers.map((f) => [f.userName, f.error])).toEqual([
      ['borrowed', 'InvalidInputError'],
      ['broken', 'VaultDataError'],
    ]);
    expect(candidates.listing.failedUsers[0]?.cause).toContain(
      'AKIASOMEONEELSE00001, which is not a key of this user',
    );
  });

  it('fails a user whose name or pinned path would break the child’s JSON (a quote, a backslash): no due line is written for it', async () => {
    const quoted = 'quo"ted';
    const slashed = 'back\\slash';
    users({
      plain: due('plain'),
      [quoted]: due(quoted),
      [slashed]: due(slashed),
      pinned: due('pinned', {
        tags: signedPin('pinned', 'aws/iam-users/pin"ned'),
        servedAt: 'aws/iam-users/pin"ned',
      }),
    });
    const candidates = await list({});
    expect(candidates.due.map((u) => u.userName)).toEqual(['plain']);
    expect(bucket.text(KEYS.due(ACCOUNT_ID))).not.toMatch(/quo|back|pinned/);
    expect(candidates.listing.failedUsers.map((f) => [f.userName, f.error])).toEqual([
      [quoted, 'InvalidInputError'],
      [slashed, 'InvalidInputError'],
      ['pinned', 'InvalidInputError'],
    ]);
    const [byQuote, bySlash, byPin] = candidates.listing.failedUsers;
    expect(byQuote?.cause).toContain('userName "quo\\"ted" must be 1-64 of');
    expect(bySlash?.cause).toContain('userName "back\\\\slash" must be 1-64 of');
    expect(byPin?.cause).toContain('names no Vault path below');
    expect(candidates.result).toMatchObject({ due: 1, failedUsers: 3 });
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
    const candidates = await list({});
    expect(candidates.due).toEqual([]);
    expect(candidates.listing.failedUsers.map((f) => [f.userName, f.error])).toEqual([
      ['rewritten', 'InvalidInputError'],
      ['copied', 'InvalidInputError'],
      ['unsigned', 'InvalidInputError'],
      ['macOnly', 'InvalidInputError'],
    ]);
    for (const failed of candidates.listing.failedUsers) {
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
    const candidates = await list({});
    expect(candidates.due).toEqual([]);
    expect(candidates.listing.failedUsers).toEqual([
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
    const candidates = await list({});
    expect(candidates.listing.skipped).toEqual([
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
    const candidates = await list({});
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

  it('lists each account asked for with its credentials, one invocation each; a user of the same name gets a child per account', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    accounts({
      [ACCOUNT_ID]: { shared: due('AKIAOWN0000000000001') },
      [MEMBER]: {
        shared: due('AKIAMEMBER0000000001'),
        young: { tags: OPTED_IN, keys: [key('AKIAYOUNG00000000001', 3)] },
      },
    });
    const input = { accountIds: [ACCOUNT_ID, MEMBER] };
    const own = await list(input, { fn: fleet, accountId: ACCOUNT_ID });
    const member = await list(input, { fn: fleet, accountId: MEMBER });
    expect([...own.due, ...member.due].map((u) => [u.accountId, u.userName, u.accessKeyId])).toEqual([
      [ACCOUNT_ID, 'shared', 'AKIAOWN0000000000001'],
      [MEMBER, 'shared', 'AKIAMEMBER0000000001'],
    ]);
    const [ownName, memberName] = [...own.due, ...member.due].map((u) => u.executionName);
    expect(ownName).toMatch(/^fleet-[0-9a-f]{16}-shared$/);
    expect(memberName).toMatch(/^fleet-[0-9a-f]{16}-shared$/);
    expect(memberName).not.toBe(ownName);
    expect([...own.listing.skipped, ...member.listing.skipped]).toEqual([
      { accountId: MEMBER, userName: 'young', reason: 'keyYoung' },
    ]);
    expect([own.result, member.result].map((r) => [r.accountId, r.skipped])).toEqual([
      [ACCOUNT_ID, 0],
      [MEMBER, 1],
    ]);
    // Each account its own objects.
    expect(member.result.dueKey).toBe(`runs/run-1/due/${MEMBER}.jsonl`);
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

  it('an account whose target role is refused throws TargetAccountAccessError after recording it; nothing is due there, the others list (allowedAccounts)', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    accounts({
      [ACCOUNT_ID]: { alice: due('AKIAOWN0000000000001') },
      [MEMBER]: { bob: due('AKIAMEMBER0000000001') },
      [NO_ROLE]: { carol: due('AKIANOROLE0000000001') },
    });
    const input = { allowedAccounts: true };
    const listed = [await list(input, { fn: fleet }), await list(input, { fn: fleet, accountId: MEMBER })];
    expect(listed.flatMap((l) => l.due).map((u) => [u.accountId, u.userName])).toEqual([
      [ACCOUNT_ID, 'alice'],
      [MEMBER, 'bob'],
    ]);
    iam.resetHistory();
    const error = await rejectionOf(fleet({ input, execution: EXECUTION, accountId: NO_ROLE }));
    expect(error.name).toBe('TargetAccountAccessError');
    expect(bucket.json(KEYS.account(NO_ROLE))).toEqual({
      accountId: NO_ROLE,
      error: 'TargetAccountAccessError',
      cause: expect.stringContaining(
        `cannot assume arn:aws:iam::${NO_ROLE}:role/iam-key-rotator-target (AccessDenied)`,
      ) as string,
    });
    expect(bucket.objects.has(KEYS.due(NO_ROLE))).toBe(false);
    expect(iam.calls()).toHaveLength(1);
  });

  it('refuses an account the deployment may not rotate in, or the input does not list, before any call', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    for (const accountIds of [['444444444444'], [ACCOUNT_ID, '444444444444']]) {
      const error = await rejectionOf(
        fleet({ input: { accountIds }, execution: EXECUTION, accountId: ACCOUNT_ID }),
      );
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain('444444444444 is not an account this deployment may rotate in');
    }
    // The account comes from the state: one the input does not list is refused too.
    for (const [input, accountId] of [
      [{ accountIds: [ACCOUNT_ID] }, MEMBER],
      [{}, MEMBER],
      [{ allowedAccounts: true }, '444444444444'],
    ] as const) {
      const error = await rejectionOf(fleet({ input, execution: EXECUTION, accountId }));
      expect(error.name).toBe('InvalidInputError');
      expect(error.message).toContain(`accountId: ${accountId} is not an account this fleet lists`);
    }
    // A deployment without allowed accounts rotates in its own only.
    const own = await deployment(FLEET_ENV);
    const error = await rejectionOf(
      own({ input: { accountIds: [MEMBER] }, execution: EXECUTION, accountId: MEMBER }),
    );
    expect(error.name).toBe('InvalidInputError');
    expect(iam.calls()).toHaveLength(0);
    expect(sts.calls()).toHaveLength(0);
    expect(bucket.objects.size).toBe(0);
  });

  it('holds each account to its own maxDuePerAccount: no count across accounts', async () => {
    const fleet = await deployment(ACCOUNTS_ENV);
    const many = (prefix: string) =>
      Object.fromEntries(
        Array.from({ length: 201 }, (_, i) => [`u${i}`, due(`AKIA${prefix}${String(i).padStart(12, '0')}`)]),
      );
    accounts({ [ACCOUNT_ID]: many('OWN0'), [MEMBER]: many('MEMB') });
    const input = { accountIds: [ACCOUNT_ID, MEMBER], maxDuePerAccount: 200 };
    for (const accountId of [ACCOUNT_ID, MEMBER]) {
      const { result, due: dueUsers, listing } = await list(input, { fn: fleet, accountId });
      expect(result).toMatchObject({ due: 200, deferred: 1, failedUsers: 0 });
      expect(dueUsers).toHaveLength(200);
      expect(listing.deferred).toHaveLength(1);
    }
  });
});
