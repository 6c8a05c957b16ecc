import { describe, expect, it } from 'vitest';
import { OWNER_TAG, ownerOf } from '../../functions/commons/ownership.js';
import type { Created, Stored } from '../../functions/commons/state.js';
import type { Request } from '../../functions/commons/input.js';
import { asLambda, type Json } from '../../local-stack/lambda.js';
import { observe, type SeededUser } from '../../local-stack/provision.js';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import { expectFailure, expectSuccess, losingResponses, rotateWithHandlers } from '../support/scenarios.js';

// Every handler, invoked again with the same event after a success or after a lost response,
// converges. Handlers are called directly (through the same JSON boundary Lambda uses), with events
// shaped as the ASL's Parameters build them, and through the state machine with lost responses.
const ctx = useLocalStack({ env: { ROTATOR_AWS_TIMEOUT_MS: '500', VAULT_TIMEOUT_MS: '500' } });

/** The handlers as the state machine invokes them; imported inside tests, after the env is set. */
async function handlers() {
  const [
    validateInput,
    createKey,
    storeInVault,
    verifyKey,
    deactivateOld,
    deleteOld,
    restoreVault,
    discardNewKey,
  ] = await Promise.all([
    import('../../functions/validateInput.js'),
    import('../../functions/createKey.js'),
    import('../../functions/storeInVault.js'),
    import('../../functions/verifyKey.js'),
    import('../../functions/deactivateOld.js'),
    import('../../functions/deleteOld.js'),
    import('../../functions/restoreVault.js'),
    import('../../functions/discardNewKey.js'),
  ]);
  return {
    validateInput: asLambda(validateInput.handler),
    createKey: asLambda(createKey.handler),
    storeInVault: asLambda(storeInVault.handler),
    verifyKey: asLambda(verifyKey.handler),
    deactivateOld: asLambda(deactivateOld.handler),
    deleteOld: asLambda(deleteOld.handler),
    restoreVault: asLambda(restoreVault.handler),
    discardNewKey: asLambda(discardNewKey.handler),
  };
}

let seq = 0;
const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:iam-key-rotator-local:${name}`;

/** The ValidateInput output (`$.request`) for an execution started at `startedAt`. */
async function requestFor(user: SeededUser, startedAt = new Date().toISOString(), name = `idem-${++seq}`) {
  const { validateInput } = await handlers();
  const request = (await validateInput({
    input: { userName: user.userName },
    execution: executionArn(name),
    startedAt,
    stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-key-rotator-local',
  })) as unknown as Request;
  return request;
}

const json = (value: unknown) => value as Json;

async function keyIds(user: SeededUser): Promise<string[]> {
  return (await observe(ctx.target, user)).accessKeys.map((k) => k.accessKeyId);
}

async function userTags(userName: string): Promise<Record<string, string>> {
  const { IAMClient, ListUserTagsCommand } = await import('@aws-sdk/client-iam');
  const out = await new IAMClient({
    region: ctx.target.aws.region,
    endpoint: ctx.stack.aws.endpoint,
    credentials: ctx.stack.aws.adminCredentials,
  }).send(new ListUserTagsCommand({ UserName: userName }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** Runs `fn` with the faults armed; returns its error (or undefined) and clears the faults. */
async function withFaults<T>(faults: string[], fn: () => Promise<T>): Promise<{ result?: T; error?: Error }> {
  for (const fault of faults) ctx.stack.traffic.addFault(fault);
  try {
    return { result: await fn() };
  } catch (error) {
    return { error: error as Error };
  } finally {
    ctx.stack.traffic.clearFaults();
  }
}

/** Calls of `service:operation` made by `fn`. */
async function countCalls<T>(operation: string, fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  ctx.stack.traffic.resetCalls();
  const result = await fn();
  return { result, calls: ctx.stack.traffic.calls()[operation] ?? 0 };
}

/** A user part way through a rotation: new key created and stored (and verified). */
async function rotatedUpTo(name: string, step: 'created' | 'stored' | 'verified', options = { keys: 1 }) {
  const fns = await handlers();
  const user = await ctx.seed(name, options);
  const request = await requestFor(user);
  const created = (await fns.createKey(json({ request }))) as unknown as Created;
  if (step === 'created') return { fns, user, request, created };
  const stored = (await fns.storeInVault(json({ request, created }))) as unknown as Stored;
  if (step === 'stored') return { fns, user, request, created, stored };
  await fns.verifyKey(json({ request, created, stored }));
  return { fns, user, request, created, stored };
}

describe('createKey re-runs', () => {
  it('after a lost CreateAccessKey response: removes the key it created but never stored, then creates', async () => {
    const fns = await handlers();
    const user = await ctx.seed('idem-create-lost');
    const request = await requestFor(user);

    const first = await withFaults(['iam:CreateAccessKey:after-commit'], () =>
      fns.createKey(json({ request })),
    );
    expect(first.error?.name).toBe('AwsUnavailableError');
    const afterFirst = await keyIds(user);
    expect(afterFirst).toHaveLength(2);
    const orphan = afterFirst.find((id) => id !== user.oldAccessKeyId);
    expect((await userTags(user.userName))[OWNER_TAG]).toBe(ownerOf(request));

    const { result, calls } = await countCalls('iam:ListUserTags', () => fns.createKey(json({ request })));
    const created = result as unknown as Created;
    // The claim is read, read back once it is rewritten, and checked once the key exists.
    expect(calls).toBe(3);
    const ids = await keyIds(user);
    expect(ids).toHaveLength(2);
    expect(ids).toContain(user.oldAccessKeyId);
    expect(ids).toContain(created.accessKeyId);
    expect(ids).not.toContain(orphan);
    expect(created.oldAccessKeyIds).toEqual([user.oldAccessKeyId]);
    expect(created.hasOldKeys).toBe(true);
  });

  it('after a success whose response was lost: replaces the unstored key instead of adding one', async () => {
    const { fns, user, request, created } = await rotatedUpTo('idem-create-twice', 'created');
    const again = (await fns.createKey(json({ request }))) as unknown as Created;

    expect(again.accessKeyId).not.toBe(created.accessKeyId);
    expect((await keyIds(user)).sort()).toEqual([user.oldAccessKeyId, again.accessKeyId].sort());
    expect(again.oldAccessKeyIds).toEqual([user.oldAccessKeyId]);
    expect(again.vaultBefore).toEqual(created.vaultBefore);
  });

  it('for a user without keys: the re-run still sees no old key', async () => {
    const { fns, user, request, created } = await rotatedUpTo('idem-create-first', 'created', { keys: 0 });
    const again = (await fns.createKey(json({ request }))) as unknown as Created;

    expect(await keyIds(user)).toEqual([again.accessKeyId]);
    expect(again.hasOldKeys).toBe(false);
    expect(again.oldAccessKeyIds).toEqual([]);
    expect(created.accessKeyId).not.toBe(again.accessKeyId);
  });

  it('after a lost Encrypt response: converges to one new key', async () => {
    const fns = await handlers();
    const user = await ctx.seed('idem-create-encrypt');
    const request = await requestFor(user);
    // Every Encrypt attempt of the first run loses its response (the SDK tries three times).
    const first = await withFaults(['kms:Encrypt:after-commitx3'], () => fns.createKey(json({ request })));
    expect(first.error?.name).toBe('AwsUnavailableError');
    expect(await keyIds(user)).toEqual([user.oldAccessKeyId]);

    const created = (await fns.createKey(json({ request }))) as unknown as Created;
    expect((await keyIds(user)).sort()).toEqual([user.oldAccessKeyId, created.accessKeyId].sort());
  });

  it("refuses, and keeps, another execution's key that is not in Vault yet", async () => {
    const { fns, user, created } = await rotatedUpTo('idem-create-other', 'created');
    const other = await requestFor(user, new Date(Date.now() - 1_000).toISOString());
    const second = await withFaults([], () => fns.createKey(json({ request: other })));

    expect(second.error?.name).toBe('ConcurrentRotationError');
    expect(await keyIds(user)).toContain(created.accessKeyId);
  });

  it('keeps a key the operator made just before the execution started, on a re-run after a lost response', async () => {
    const fns = await handlers();
    // Vault does not hold the operator's key yet: the rotation is what puts a key into Vault, at a
    // path nothing proves the consumers read, so the input adopts it.
    const user = await ctx.seed('idem-create-operator-key', { storeInVault: false });
    const operatorKey = (await observe(ctx.target, user)).accessKeys[0];
    expect(operatorKey).toBeDefined();
    // The execution starts right after the operator created the key, within the same second.
    const createdAt = Date.parse(operatorKey?.createDate ?? '');
    const request = {
      ...(await requestFor(user, new Date(createdAt + (createdAt % 1000 === 999 ? 0 : 1)).toISOString())),
      adoptVaultPath: true,
    };

    const first = await withFaults(['iam:CreateAccessKey:after-commit'], () =>
      fns.createKey(json({ request })),
    );
    expect(first.error?.name).toBe('AwsUnavailableError');
    const created = (await fns.createKey(json({ request }))) as unknown as Created;

    const keys = (await observe(ctx.target, user)).accessKeys;
    expect(
      keys.find((k) => k.accessKeyId === operatorKey?.accessKeyId),
      'createKey deleted a key that existed before the execution started',
    ).toMatchObject({ status: 'Active' });
    expect(created.oldAccessKeyIds).toEqual([operatorKey?.accessKeyId]);
  });
});

describe('storeInVault re-runs', () => {
  it('after a success: Vault already holds the key, no new version is written', async () => {
    const { fns, user, request, created, stored } = await rotatedUpTo('idem-store-twice', 'stored');
    const { result, calls } = await countCalls('vault:kv-write', () =>
      fns.storeInVault(json({ request, created })),
    );
    const again = result as unknown as Stored;

    expect(calls).toBe(0);
    expect(again).toMatchObject({ version: stored?.version, alreadyStored: true, previousVersion: 1 });
    expect((await ctx.vaultKey(user))?.accessKeyId).toBe(created.accessKeyId);
    expect((await observe(ctx.target, user)).vault?.version).toBe(2);
  });

  it.each(['vault:kv-write:after-commit', 'vault:kv-metadata:after-commit'])(
    'after a lost response (%s): the re-run succeeds without writing a new version',
    async (fault) => {
      const { fns, user, request, created } = await rotatedUpTo(
        `idem-store-${fault.split(':')[1]}`,
        'created',
      );
      const first = await withFaults([fault], () => fns.storeInVault(json({ request, created })));
      expect(first.error?.name).toBe('VaultUnavailableError');
      expect((await ctx.vaultKey(user))?.accessKeyId).toBe(created.accessKeyId);

      const { result, calls } = await countCalls('vault:kv-write', () =>
        fns.storeInVault(json({ request, created })),
      );
      expect(calls).toBe(0);
      expect(result).toMatchObject({ version: 2, alreadyStored: true });
      expect((await observe(ctx.target, user)).vault?.version).toBe(2);
    },
  );
});

describe('verifyKey, deactivateOld and deleteOld re-runs', () => {
  it('verifyKey answers the same twice', async () => {
    const { fns, request, created, stored } = await rotatedUpTo('idem-verify', 'stored');
    const first = await fns.verifyKey(json({ request, created, stored }));
    const second = await fns.verifyKey(json({ request, created, stored }));
    expect(second).toEqual(first);
  });

  it('deactivateOld: a re-run leaves the old key Inactive and the new key Active', async () => {
    const { fns, user, request, created, stored } = await rotatedUpTo('idem-deactivate', 'verified');
    const event = json({ request, created, stored });
    const first = await fns.deactivateOld(event);
    const state = await observe(ctx.target, user);
    const second = await fns.deactivateOld(event);

    expect(first).toMatchObject({ waiting: false, deactivated: [user.oldAccessKeyId] });
    expect(second).toMatchObject({ waiting: false });
    expect(await observe(ctx.target, user)).toEqual(state);
    expect(state.accessKeys.find((k) => k.accessKeyId === user.oldAccessKeyId)?.status).toBe('Inactive');
    expect(state.accessKeys.find((k) => k.accessKeyId === created.accessKeyId)?.status).toBe('Active');
  });

  it('deactivateOld after a lost UpdateAccessKey response converges', async () => {
    const { fns, user, request, created, stored } = await rotatedUpTo('idem-deactivate-lost', 'verified');
    const event = json({ request, created, stored });
    await withFaults(['iam:UpdateAccessKey:after-commitx3'], () => fns.deactivateOld(event));
    await fns.deactivateOld(event);
    const keys = (await observe(ctx.target, user)).accessKeys;
    expect(keys.find((k) => k.accessKeyId === user.oldAccessKeyId)?.status).toBe('Inactive');
    expect(keys.find((k) => k.accessKeyId === created.accessKeyId)?.status).toBe('Active');
  });

  it('deleteOld: a re-run finds the old key already gone', async () => {
    const { fns, user, request, created, stored } = await rotatedUpTo('idem-delete', 'verified');
    await fns.deactivateOld(json({ request, created, stored }));
    const first = await fns.deleteOld(json({ request, created }));
    const second = await fns.deleteOld(json({ request, created }));

    expect(first).toEqual({ deleted: [user.oldAccessKeyId], alreadyGone: [] });
    expect(second).toEqual({ deleted: [], alreadyGone: [user.oldAccessKeyId] });
    expect(await keyIds(user)).toEqual([created.accessKeyId]);
  });

  it('deleteOld after a lost DeleteAccessKey response converges', async () => {
    const { fns, user, request, created, stored } = await rotatedUpTo('idem-delete-lost', 'verified');
    await fns.deactivateOld(json({ request, created, stored }));
    await withFaults(['iam:DeleteAccessKey:after-commitx3'], () => fns.deleteOld(json({ request, created })));
    const again = await fns.deleteOld(json({ request, created }));

    expect(again).toEqual({ deleted: [], alreadyGone: [user.oldAccessKeyId] });
    expect(await keyIds(user)).toEqual([created.accessKeyId]);
  });
});

describe('rollback re-runs', () => {
  it('restoreVault: the re-run finds the previous key back and writes nothing', async () => {
    const { fns, user, request, created } = await rotatedUpTo('idem-restore', 'stored');
    const first = await fns.restoreVault(json({ request, created }));
    const { result, calls } = await countCalls('vault:kv-write', () =>
      fns.restoreVault(json({ request, created })),
    );

    expect(first).toMatchObject({ action: 'rewrote-previous', version: 3 });
    expect(result).toMatchObject({ action: 'none', version: 3 });
    expect(calls).toBe(0);
    expect((await ctx.vaultKey(user))?.accessKeyId).toBe(user.oldAccessKeyId);
  });

  it('restoreVault after a lost write response converges without another version', async () => {
    const { fns, user, request, created } = await rotatedUpTo('idem-restore-lost', 'stored');
    const first = await withFaults(['vault:kv-write:after-commit'], () =>
      fns.restoreVault(json({ request, created })),
    );
    expect(first.error?.name).toBe('VaultUnavailableError');
    const again = await fns.restoreVault(json({ request, created }));

    expect(again).toMatchObject({ action: 'none', version: 3 });
    expect((await ctx.vaultKey(user))?.accessKeyId).toBe(user.oldAccessKeyId);
  });

  it('restoreVault for a first key: the re-run finds the path empty', async () => {
    const { fns, user, request, created } = await rotatedUpTo('idem-restore-first', 'stored', { keys: 0 });
    expect(await fns.restoreVault(json({ request, created }))).toMatchObject({
      action: 'deleted-new-version',
    });
    expect(await fns.restoreVault(json({ request, created }))).toMatchObject({ action: 'none' });
    expect(await ctx.vaultKey(user)).toBeNull();
  });

  it('discardNewKey: the re-run finds the new key gone', async () => {
    const { fns, user, request, created } = await rotatedUpTo('idem-discard', 'stored');
    await fns.restoreVault(json({ request, created }));
    expect(await fns.discardNewKey(json({ request, created }))).toEqual({
      accessKeyId: created.accessKeyId,
      deleted: true,
    });
    expect(await fns.discardNewKey(json({ request, created }))).toEqual({
      accessKeyId: created.accessKeyId,
      deleted: false,
    });
    expect(await keyIds(user)).toEqual([user.oldAccessKeyId]);
  });
});

describe('through the state machine: every step succeeds but Lambda loses its response once', () => {
  const MAIN = ['validateInput', 'createKey', 'storeInVault', 'verifyKey', 'deactivateOld', 'deleteOld'];

  it.each(MAIN)('%s: the step is re-invoked and the rotation SUCCEEDS', async (fn) => {
    const user = await ctx.seed(`idem-lost-${fn}`);
    let lossy: ReturnType<typeof losingResponses> | undefined;
    const report = await rotateWithHandlers(ctx, user, (name, handler) => {
      if (name !== fn) return handler;
      lossy = losingResponses(handler);
      return lossy;
    });

    expect(lossy?.lost()).toBe(1);
    expectSuccess(report);
    expect(report.history.filter((e) => e.type === 'StateRetried')).toHaveLength(1);
    expect(report.after.vault?.version).toBe(2);
    await expectInvariants(ctx, user, report);
  });

  it('every step at once, twice each: the rotation SUCCEEDS', async () => {
    const user = await ctx.seed('idem-lost-all');
    const report = await rotateWithHandlers(ctx, user, (_name, handler) => losingResponses(handler, 2));
    expectSuccess(report);
    expect(report.after.vault?.version).toBe(2);
    await expectInvariants(ctx, user, report);
  });

  it.each(['restoreVault', 'discardNewKey'])(
    'rollback step %s: re-invoked, the rollback completes with VaultWriteFailed',
    async (fn) => {
      const user = await ctx.seed(`idem-lost-${fn}`);
      const report = await rotateWithHandlers(
        ctx,
        user,
        (name, handler) => (name === fn ? losingResponses(handler) : handler),
        // The write commits, then metadata is refused: the rollback must rewrite Vault and delete the key.
        { faults: ['vault:kv-metadata:403x2'] },
      );
      expectFailure(report, 'VaultWriteFailed', 'VaultWriteFailed');
      expect(report.after.vault?.accessKeyId).toBe(user.oldAccessKeyId);
      expect(report.after.accessKeys).toEqual(report.before.accessKeys);
      await expectInvariants(ctx, user, report);
    },
  );
});
