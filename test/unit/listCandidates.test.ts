import { IAMClient, ListAccessKeysCommand, ListUsersCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Candidates } from '../../functions/commons/fleet-input.js';
import { EXECUTION, rejectionOf, resetBeforeEach, useHandler } from './support.js';

const { handler, deployment } = useHandler<Candidates>(() => import('../../functions/listCandidates.js'));
const iam = resetBeforeEach(mockClient(IAMClient));

beforeAll(() => {
  process.env.ROTATOR_USER_PATH = '/rotated/';
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
    expect(candidates.skipped).toEqual([
      { userName: 'untagged', reason: 'notTagged' },
      { userName: 'young', reason: 'keyYoung' },
      { userName: 'pair', reason: 'twoKeys' },
      { userName: 'inactiveOnly', reason: 'noActiveKey' },
      { userName: 'busy', reason: 'rotationRunning' },
    ]);
    expect(candidates).toMatchObject({ dryRun: false, maxConcurrency: 5, userDefaults: {} });
  });

  it('lets a user with an Inactive second key through when the defaults allow deleting it; allUsersInPath ignores tags', async () => {
    const allowing = await deployment({
      ROTATOR_USER_PATH: '/rotated/',
      ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true',
    });
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
    expect(candidates.skipped[0]).toEqual({ userName: 'x0', reason: 'notTagged' });
    expect(candidates.skippedTotal).toBe(3000);
  });
});
