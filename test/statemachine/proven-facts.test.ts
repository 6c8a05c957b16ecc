import { randomBytes } from 'node:crypto';
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import type { Request } from '../../functions/commons/input.js';
import { CLAIM_MAC_TAG, CLAIM_TAG, OWNER_TAG, ownerOf } from '../../functions/commons/ownership.js';
import { VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import type { SeededUser } from '../../local-stack/provision.js';
import { matchesPattern } from '../support/event-pattern.js';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import { HAPPY_PATH } from '../support/paths.js';
import {
  expectFailure,
  expectSuccess,
  losingResponses,
  type Report,
  rotateWithHandlers,
} from '../support/scenarios.js';
import { executionArnOf, machineArnOf, rulePattern, statusChangeEvent } from '../support/status-change.js';
import { adminIam, tagUser, userTags, writeCalls } from '../support/tags.js';

// Issue 16: where a key is served and who owns a rotation are facts the rotator proves, never a
// guess from the default template or a tag anyone allowed iam:TagUser can write. The real ASL and
// handlers on the local stack; the tagger is the account's administrator. A deployment that allows
// moves (a replayed pin needs one), not adoption.
const ctx = useLocalStack({ env: { ROTATOR_ALLOW_VAULT_PATH_MOVE: 'true' } });

const PREFIX = 'aws/iam-users/';
const MAC_TAG_SHAPE = /^v1 \S+ [A-Za-z0-9+/]{43}=$/;
const REFUSED = ['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed'];

/** A path under the prefix that serves nothing. */
const emptyPath = (name: string) => `${PREFIX}elsewhere/${name}`;

/** The state's output in the execution's history. */
function outputOf(report: Report, state: string): Record<string, unknown> | undefined {
  const exited = report.history.find((e) => e.type === 'StateExited' && e.state?.name === state);
  return exited?.state?.output as Record<string, unknown> | undefined;
}

/** A user rotated once at its default path: pinned there, signed, its claim tags genuine. */
async function pinnedUser(name: string, options: { vaultPath?: string } = {}): Promise<SeededUser> {
  const user = await ctx.seed(name, options);
  const report = await ctx.rotate(user, options.vaultPath ? { input: { userName: name, ...options } } : {});
  expectSuccess(report);
  return { ...user, oldAccessKeyId: (await ctx.vaultKey(user))?.accessKeyId ?? null };
}

/** Refused before any write: nothing in IAM, KMS (Encrypt, GenerateMac) or Vault changed. */
async function expectRefusedUnchanged(
  report: Report,
  user: SeededUser,
  tagsBefore: Record<string, string>,
): Promise<void> {
  expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
  expect(report.states).toEqual(REFUSED);
  expect(writeCalls(report.calls)).toEqual([]);
  expect(report.after).toEqual(report.before);
  expect((await ctx.vaultKey(user))?.accessKeyId).toBe(report.before.vault?.accessKeyId);
  expect(await userTags(ctx, user.userName)).toEqual(tagsBefore);
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** A well-formed MAC that is nobody's: 32 random bytes in base64. */
const randomMac = () => randomBytes(32).toString('base64');

describe('an unpinned user whose consumers read a custom path', () => {
  it('is refused, naming the user, the path and that it serves no key, with zero writes, when input names another empty path', async () => {
    const custom = `${PREFIX}vendors/vendor-a`;
    const user = await ctx.seed('vendor-a', { vaultPath: custom });
    const tags = await userTags(ctx, user.userName);

    // The fleet's input (the default path, empty) and a path a caller picked.
    const inputs: Record<string, string>[] = [
      { userName: 'vendor-a' },
      { userName: 'vendor-a', vaultPath: emptyPath('vendor-a') },
    ];
    for (const input of inputs) {
      const asked = input.vaultPath ?? `${PREFIX}vendor-a`;
      const report = await ctx.rotate(user, { input });

      await expectRefusedUnchanged(report, user, tags);
      expect(report.error?.Cause).toContain(`'vendor-a' has no ${VAULT_PATH_TAG} tag`);
      expect(report.error?.Cause).toContain(`vaultPath ${asked} serves no key`);
      expect(report.error?.Cause).toContain(
        `not one of its Active keys (${user.oldAccessKeyId ?? ''} (Active))`,
      );
      expect(await ctx.vaultKey({ ...user, vaultPath: asked })).toBeNull();
      expect((await ctx.vaultKey(user))?.accessKeyId).toBe(user.oldAccessKeyId);
    }
  });

  it('rotated with its custom path: SUCCEEDED, the new key there, pinned there with both pin tags', async () => {
    const custom = `${PREFIX}vendors/vendor-b`;
    const user = await ctx.seed('vendor-b', { vaultPath: custom });
    const report = await ctx.rotate(user, { input: { userName: 'vendor-b', vaultPath: custom } });

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    const served = (await ctx.vaultKey(user))?.accessKeyId;
    expect(served).not.toBe(user.oldAccessKeyId);
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([served]);
    const tags = await userTags(ctx, user.userName);
    expect(tags[VAULT_PATH_TAG]).toBe(custom);
    expect(tags[VAULT_PATH_MAC_TAG]).toMatch(MAC_TAG_SHAPE);
    await expectInvariants(ctx, user, report);
  });
});

describe('a pin rewritten by a tagger', () => {
  const attackerPath = (name: string) => `${PREFIX}attacker/${name}`;
  /** The claim tags of a long-finished rotation: a tagger backdates them so no claim is fresh. */
  const backdatedClaim = (user: SeededUser) => ({
    [OWNER_TAG]: 'arn:aws:states:us-east-1:123456789012:execution:m:old 0123456789abcdef',
    [CLAIM_TAG]: `${iso(Date.now() - 86_400_000)} ${user.oldAccessKeyId ?? ''}`,
  });

  const rewrites: [
    string,
    (user: SeededUser, tags: Record<string, string>) => Promise<Record<string, string>>,
  ][] = [
    [
      'the path only, the MAC tag kept, the claim backdated',
      async (user) => ({ [VAULT_PATH_TAG]: attackerPath(user.userName), ...backdatedClaim(user) }),
    ],
    [
      'the path and a MAC tag of its own making, the claim backdated',
      async (user) => ({
        [VAULT_PATH_TAG]: attackerPath(user.userName),
        [VAULT_PATH_MAC_TAG]: `v1 ${iso(Date.now() - 1_000)} ${randomMac()}`,
        ...backdatedClaim(user),
      }),
    ],
    [
      'the pin and MAC of another user, copied',
      async (user) => {
        const other = await pinnedUser(`${user.userName}-other`);
        const copied = await userTags(ctx, other.userName);
        return {
          [VAULT_PATH_TAG]: copied[VAULT_PATH_TAG] ?? '',
          [VAULT_PATH_MAC_TAG]: copied[VAULT_PATH_MAC_TAG] ?? '',
        };
      },
    ],
    [
      'the path, the genuine MAC dated an hour ahead',
      async (user, tags) => {
        const [, , mac] = (tags[VAULT_PATH_MAC_TAG] ?? '').split(' ');
        return {
          [VAULT_PATH_TAG]: attackerPath(user.userName),
          [VAULT_PATH_MAC_TAG]: `v1 ${iso(Date.now() + 3_600_000)} ${mac ?? ''}`,
        };
      },
    ],
  ];

  it.each(rewrites.map(([what, rewrite], i) => [what, rewrite, i] as const))(
    '(%s) ends InvalidInputError "changed outside the rotator" with zero writes, and the tamper alert matches',
    async (_what, rewrite, i) => {
      const user = await pinnedUser(`tampered-${i}`);
      await tagUser(ctx, user.userName, await rewrite(user, await userTags(ctx, user.userName)));
      const tags = await userTags(ctx, user.userName);
      const tagged = tags[VAULT_PATH_TAG] ?? '';
      // As a fleet starts the user's child (the path its pin names), and with the default input.
      const inputs: Record<string, string>[] = [{ userName: user.userName }];
      if (!(await ctx.vaultKey({ ...user, vaultPath: tagged }))) {
        inputs.push({ userName: user.userName, vaultPath: tagged });
      }
      for (const input of inputs) {
        const report = await ctx.rotate(user, { input });

        await expectRefusedUnchanged(report, user, tags);
        expect(report.error?.Cause).toContain(
          `the pin of '${user.userName}' was changed outside the rotator`,
        );
        expect(await ctx.vaultKey({ ...user, vaultPath: attackerPath(user.userName) })).toBeNull();
        await expectInvariants(ctx, user, report);

        const event = statusChangeEvent(report);
        const pattern = await rulePattern('PinTamperRule', machineArnOf(executionArnOf(report)));
        expect(matchesPattern(pattern, event)).toBe(true);
      }
      expect(inputs.length).toBe(i === 2 ? 1 : 2);
    },
  );

  it('the tamper alert does not match an InvalidInputError that is not tampering', async () => {
    const user = await ctx.seed('not-tampered');
    const report = await ctx.rotate(user, { input: { userName: user.userName, vaultPath: emptyPath('x') } });

    expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
    const pattern = await rulePattern('PinTamperRule', machineArnOf(executionArnOf(report)));
    expect(matchesPattern(pattern, statusChangeEvent(report))).toBe(false);
    // ... while the failure rule alerts it as any failure.
    expect(
      matchesPattern(
        await rulePattern('ExecutionFailedRule', machineArnOf(executionArnOf(report))),
        statusChangeEvent(report),
      ),
    ).toBe(true);
  });
});

describe('a replayed older pin', () => {
  it('written back after a move is not followed: InvalidInputError (stale or replayed pin), zero writes, the moved key untouched', async () => {
    const user = await pinnedUser('replayed');
    const a = user.vaultPath;
    const old = await userTags(ctx, user.userName);
    const moved: SeededUser = { ...user, vaultPath: `${a}/v2` };
    const move = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: moved.vaultPath, moveVaultPath: true },
    });
    expectSuccess(move);
    expect((await userTags(ctx, user.userName))[VAULT_PATH_TAG]).toBe(moved.vaultPath);
    const keyAtB = (await ctx.vaultKey(moved))?.accessKeyId;

    await tagUser(ctx, user.userName, {
      [VAULT_PATH_TAG]: old[VAULT_PATH_TAG] ?? '',
      [VAULT_PATH_MAC_TAG]: old[VAULT_PATH_MAC_TAG] ?? '',
    });
    const tags = await userTags(ctx, user.userName);
    for (const vaultPath of [a, moved.vaultPath]) {
      const report = await ctx.rotate(moved, { input: { userName: user.userName, vaultPath } });

      await expectRefusedUnchanged(report, moved, tags);
      expect(report.error?.Cause).toContain(`the pin of '${user.userName}' names ${a}`);
      expect(report.error?.Cause).toContain('a stale or replayed pin is not followed');
      expect(report.after.accessKeys).toEqual([
        expect.objectContaining({ accessKeyId: keyAtB, status: 'Active' }),
      ]);
      expect((await ctx.vaultKey(moved))?.accessKeyId).toBe(keyAtB);
    }
  });
});

describe('forged owner and claim tags for an execution name the tagger picks', () => {
  /** The execution ARN ctx.rotate gives the name (the local machine, the local account). */
  const arnOf = (name: string) =>
    `arn:aws:states:${ctx.target.aws.region}:123456789012:execution:iam-key-rotator-local:${name}`;

  // The user's claim-mac tag as the tagger leaves it (a user never rotated has none; the emulator
  // has no UntagUser, so "absent" is a user without rotator tags).
  const claimMacs: [string, boolean, (genuine: string | undefined) => string | undefined][] = [
    ['absent', false, () => undefined],
    ['garbage', false, () => 'v1 not-a-mac'],
    ['a MAC of nobody', false, () => `v1 ${randomMac()}`],
    ['the genuine MAC of the user’s last claim', true, (genuine) => genuine],
  ];

  it.each(claimMacs.map(([what, rotated, mac], i) => [what, rotated, mac, i] as const))(
    'claim MAC %s: CreateKey deletes and deactivates nothing; the extra key stays Active (TooManyAccessKeysError)',
    async (_what, rotated, mac, i) => {
      const user = rotated ? await pinnedUser(`forged-claim-${i}`) : await ctx.seed(`forged-claim-${i}`);
      const name = `forged-claim-run-${i}-${Date.now()}`;
      const genuine = (await userTags(ctx, user.userName))[CLAIM_MAC_TAG];
      expect(genuine === undefined).toBe(!rotated);
      const forgedMac = mac(genuine);
      await tagUser(ctx, user.userName, {
        [OWNER_TAG]: ownerOf({ execution: arnOf(name) } as Request),
        [CLAIM_TAG]: `${new Date(Date.now() - 2_000).toISOString()} ${user.oldAccessKeyId ?? ''}`,
        ...(forgedMac === undefined ? {} : { [CLAIM_MAC_TAG]: forgedMac }),
      });
      // A second key, made after the forged claim: what the old CreateKey took for its own leftover.
      const extra = await adminIam(ctx).send(new CreateAccessKeyCommand({ UserName: user.userName }));
      const extraId = extra.AccessKey?.AccessKeyId;
      const tags = await userTags(ctx, user.userName);
      const report = await ctx.rotate(user, { executionName: name });

      expect(executionArnOf(report)).toBe(arnOf(name)); // the forged owner names this very execution
      expectFailure(report, 'TooManyAccessKeysError', 'CreateKeyFailed');
      expect(report.states).toEqual(REFUSED);
      expect(writeCalls(report.calls)).toEqual([]);
      expect(report.after).toEqual(report.before);
      expect(report.after.accessKeys).toEqual([
        expect.objectContaining({ accessKeyId: user.oldAccessKeyId, status: 'Active' }),
        expect.objectContaining({ accessKeyId: extraId, status: 'Active' }),
      ]);
      expect(await userTags(ctx, user.userName)).toEqual(tags);
      expect(report.logs.join('\n')).toContain('ignored a claim the rotator did not write');
      await expectInvariants(ctx, user, report);
    },
  );

  it('a genuine leftover (CreateAccessKey succeeded, its response lost) is still deleted on retry, under the valid claim', async () => {
    const user = await ctx.seed('genuine-leftover');
    let lossy: ReturnType<typeof losingResponses> | undefined;
    const report = await rotateWithHandlers(ctx, user, (fn, handler) => {
      if (fn !== 'createKey') return handler;
      lossy = losingResponses(handler);
      return lossy;
    });

    expect(lossy?.lost()).toBe(1);
    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    expect(report.calls['iam:CreateAccessKey']).toBe(2);
    expect(report.calls['iam:DeleteAccessKey']).toBe(2); // the leftover, then the old key
    expect(report.logs.join('\n')).toContain('discarded keys of an earlier attempt');
    await expectInvariants(ctx, user, report);
  });
});

describe('a case variant of a user name', () => {
  it('VENDOR-X rotates vendor-x at vendor-x’s default path, tags on the user, the request under IAM’s spelling', async () => {
    const user = await ctx.seed('vendor-x');
    const report = await ctx.rotate(user, { input: { userName: 'VENDOR-X' } });

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    expect(user.vaultPath).toBe(`${PREFIX}vendor-x`);
    expect(outputOf(report, 'CreateKey')?.request).toMatchObject({
      userName: 'vendor-x',
      vaultPath: user.vaultPath,
      defaultVaultPath: user.vaultPath,
    });
    const served = (await ctx.vaultKey(user))?.accessKeyId;
    expect(served).not.toBe(user.oldAccessKeyId);
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([served]);
    expect(await ctx.vaultKey({ ...user, vaultPath: `${PREFIX}VENDOR-X` })).toBeNull();
    const tags = await userTags(ctx, 'vendor-x');
    expect(tags[VAULT_PATH_TAG]).toBe(user.vaultPath);
    expect(tags[VAULT_PATH_MAC_TAG]).toMatch(MAC_TAG_SHAPE);
    await expectInvariants(ctx, user, report);

    // Pinned now: the variant spelling follows the same pin.
    expectSuccess(await ctx.rotate(user, { input: { userName: 'Vendor-X' } }));
    expect((await userTags(ctx, 'vendor-x'))[VAULT_PATH_TAG]).toBe(user.vaultPath);
  });
});

describe('an unsigned pin written by an earlier version', () => {
  it('whose path serves the user’s current key is followed once and signed: SUCCEEDED, the MAC tag present', async () => {
    const user = await ctx.seed('unsigned-pin');
    await tagUser(ctx, user.userName, { [VAULT_PATH_TAG]: user.vaultPath });
    const report = await ctx.rotate(user);

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    expect(outputOf(report, 'CreateKey')?.created).toMatchObject({
      pinnedVaultPath: user.vaultPath,
      pinSigned: false,
    });
    const tags = await userTags(ctx, user.userName);
    expect(tags[VAULT_PATH_TAG]).toBe(user.vaultPath);
    expect(tags[VAULT_PATH_MAC_TAG]).toMatch(MAC_TAG_SHAPE);
    expect(report.calls['kms:GenerateMac']).toBe(2); // the claim, then the pin
    await expectInvariants(ctx, user, report);

    // Signed now: the next rotation verifies it and needs no new pin.
    const next = await ctx.rotate(user);
    expectSuccess(next);
    expect(next.calls['kms:GenerateMac']).toBe(1); // the claim only
    expect((await userTags(ctx, user.userName))[VAULT_PATH_MAC_TAG]).toBe(tags[VAULT_PATH_MAC_TAG]);
  });

  it('whose path serves no Active key of the user is not followed: InvalidInputError, zero writes', async () => {
    const user = await ctx.seed('unsigned-pin-elsewhere');
    await tagUser(ctx, user.userName, { [VAULT_PATH_TAG]: emptyPath(user.userName) });
    const tags = await userTags(ctx, user.userName);
    const report = await ctx.rotate(user);

    await expectRefusedUnchanged(report, user, tags);
    expect(report.error?.Cause).toContain(
      `the unsigned pin (written by an earlier version) of '${user.userName}' names ${emptyPath(user.userName)}, which serves no key`,
    );
    await expectInvariants(ctx, user, report);
  });
});

describe('a deleted and re-created user of the same name', () => {
  // The pin's MAC covers the account, the user's id, the path and the time, not the name. The
  // emulator has no DeleteUser, so the re-created user is a new user (a new AIDA id) whose key is
  // served at the old user's path, carrying the old user's pin and MAC tags: every signed input
  // but the id is the old user's.
  it('does not inherit the old user’s pin copied onto it: InvalidInputError "changed outside the rotator", zero writes', async () => {
    const first = await pinnedUser('recreated');
    const old = await userTags(ctx, first.userName);
    const user = await ctx.seed('recreated-again', { vaultPath: first.vaultPath });
    await tagUser(ctx, user.userName, {
      [VAULT_PATH_TAG]: old[VAULT_PATH_TAG] ?? '',
      [VAULT_PATH_MAC_TAG]: old[VAULT_PATH_MAC_TAG] ?? '',
    });
    const tags = await userTags(ctx, user.userName);
    const report = await ctx.rotate(user, { input: { userName: user.userName, vaultPath: first.vaultPath } });

    await expectRefusedUnchanged(report, user, tags);
    expect(report.error?.Cause).toContain(`the pin of 'recreated-again' was changed outside the rotator`);
    await expectInvariants(ctx, user, report);

    // Without its MAC tag the same pin (an earlier version's) is followed: only the id refused it.
    const control = await ctx.seed('recreated-control', { vaultPath: `${PREFIX}control/recreated` });
    await tagUser(ctx, control.userName, { [VAULT_PATH_TAG]: control.vaultPath });
    expectSuccess(
      await ctx.rotate(control, { input: { userName: control.userName, vaultPath: control.vaultPath } }),
    );
  });
});
