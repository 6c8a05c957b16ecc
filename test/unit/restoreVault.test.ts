import { DecryptCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Created } from '../../functions/commons/state.js';
import {
  EXECUTION,
  fakeSeal,
  makeCreated,
  makeRequest,
  OLD_SECRET,
  rejectionOf,
  SECRET,
  setHandlerEnv,
  uniqueUser,
  useFakeKms,
  useHandler,
} from './support.js';

interface Restored {
  action: 'none' | 'rewrote-previous' | 'deleted-new-version';
  version: number;
}

const { vault, handler, deployment } = useHandler<Restored>(() => import('../../functions/restoreVault.js'));
const { kms, fakeKms } = useFakeKms();

const NEW_KEY = 'AKIANEWKEY0000000001';
const OLD_KEY = 'AKIAOLDKEY0000000001';

function write(path: string, accessKeyId: string, secret: string) {
  return vault().writeSecret({
    mount: 'secret',
    path,
    data: { access_key: accessKeyId, secret_key: secret },
  });
}

function rollback(vaultBefore: Created['vaultBefore']) {
  const request = makeRequest({ userName: uniqueUser() });
  const created = makeCreated(request.userName, { accessKeyId: NEW_KEY, vaultBefore });
  return { path: request.vaultPath, event: { request, created } };
}

describe('restoreVault handler', () => {
  it('does nothing when Vault does not serve the new key', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    write(path, OLD_KEY, OLD_SECRET);
    await expect(handler(event)).resolves.toEqual({ action: 'none', version: 1 });
    expect(vault().readSecret('secret', path)?.metadata?.version).toBe(1);
  });

  it('does nothing for a path never written', async () => {
    const { event } = rollback({ version: 0, accessKeyId: null });
    await expect(handler(event)).resolves.toEqual({ action: 'none', version: 0 });
  });

  it('rewrites the previous key pair as a new version when Vault serves the new key', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    write(path, OLD_KEY, OLD_SECRET);
    write(path, NEW_KEY, SECRET);
    const result = await handler(event);
    expect(result).toEqual({ action: 'rewrote-previous', version: 3 });
    expect(vault().readSecret('secret', path)).toMatchObject({
      data: { access_key: OLD_KEY, secret_key: OLD_SECRET },
      metadata: { version: 3 },
    });
    expect(JSON.stringify(result)).not.toContain(OLD_SECRET);
  });

  it('deletes the new version when the path held no key before', async () => {
    const { path, event } = rollback({ version: 0, accessKeyId: null });
    write(path, NEW_KEY, SECRET);
    await expect(handler(event)).resolves.toEqual({ action: 'deleted-new-version', version: 1 });
    expect(vault().readSecret('secret', path)).toMatchObject({ data: null, metadata: { version: 1 } });
  });

  it('is idempotent: a re-run after the restore does nothing', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    write(path, OLD_KEY, OLD_SECRET);
    write(path, NEW_KEY, SECRET);
    await handler(event);
    await expect(handler(event)).resolves.toEqual({ action: 'none', version: 3 });
    await expect(handler(rollback({ version: 0, accessKeyId: null }).event)).resolves.toMatchObject({
      action: 'none',
    });
  });

  it('throws VaultDataError, without secrets, when the previous version no longer holds the previous key', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    write(path, 'AKIASOMETHINGELSE001', OLD_SECRET);
    write(path, NEW_KEY, SECRET);
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).toContain(OLD_KEY);
    expect(error.message).not.toContain(OLD_SECRET);
    expect(error.message).not.toContain(SECRET);
    expect(vault().readSecret('secret', path)?.metadata?.version).toBe(2);
  });

  it('writes back a previous version whose other fields are not strings, exactly as it was', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    const previous = {
      access_key: OLD_KEY,
      secret_key: OLD_SECRET,
      ttl: 3600,
      tags: ['ci'],
      meta: { a: null },
    };
    vault().writeSecret({ mount: 'secret', path, data: previous });
    write(path, NEW_KEY, SECRET);
    await expect(handler(event)).resolves.toEqual({ action: 'rewrote-previous', version: 3 });
    expect(vault().readSecret('secret', path)?.data).toEqual(previous);
  });

  it('throws VaultUnavailableError while Vault is sealed', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    write(path, OLD_KEY, OLD_SECRET);
    write(path, NEW_KEY, SECRET);
    vault().seal();
    try {
      expect((await rejectionOf(handler(event))).name).toBe('VaultUnavailableError');
    } finally {
      vault().unseal();
    }
  });
});

describe('restoreVault handler on a KV v1 mount', () => {
  let v1: (event: unknown) => Promise<Restored>;
  const PREVIOUS = { access_key: OLD_KEY, secret_key: OLD_SECRET, owner: 'team-a', note: 'kept as it was' };
  const NEW_VALUE = { access_key: NEW_KEY, secret_key: SECRET };
  const legacy = (path: string) => vault().readSecret('legacy', path);

  beforeAll(async () => {
    vault().enableKv('legacy', 1);
    v1 = await deployment({ VAULT_KV_MOUNT: 'legacy', VAULT_KV_VERSION: '1' });
  });

  afterAll(() => {
    setHandlerEnv(vault());
  });

  /** A rollback after storeInVault replaced PREVIOUS with the new key, createKey having sealed PREVIOUS. */
  function rolledBack(
    options: { purpose?: 'new-secret' | 'previous-secret'; sealed?: boolean; plaintext?: string } = {},
  ) {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    const sealedPrevious = {
      ciphertext: fakeSeal(fakeKms, options.plaintext ?? JSON.stringify(PREVIOUS), {
        execution: EXECUTION,
        userName: event.request.userName,
        accessKeyId: OLD_KEY,
        purpose: options.purpose ?? 'previous-secret',
      }),
    };
    if (options.sealed !== false) event.created.vaultBefore.sealedPrevious = sealedPrevious;
    vault().writeSecret({ mount: 'legacy', path, data: NEW_VALUE });
    return { path, event };
  }

  it('unseals the previous value and writes it back exactly', async () => {
    const { path, event } = rolledBack();
    const result = await v1(event);
    expect(result).toEqual({ action: 'rewrote-previous', version: 1 });
    expect(legacy(path)).toEqual({ data: PREVIOUS, metadata: null });
    expect(JSON.stringify(result)).not.toContain(OLD_SECRET);
    expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({
      'iam-key-rotator:execution': EXECUTION,
      'iam-key-rotator:user': event.request.userName,
      'iam-key-rotator:access-key-id': OLD_KEY,
      'iam-key-rotator:purpose': 'previous-secret',
    });
  });

  it('is idempotent: a re-run after the restore does nothing', async () => {
    const { path, event } = rolledBack();
    await v1(event);
    await expect(v1(event)).resolves.toEqual({ action: 'none', version: 1 });
    expect(legacy(path)?.data).toEqual(PREVIOUS);
  });

  it('deletes the value when the path held none before', async () => {
    const { path, event } = rollback({ version: 0, accessKeyId: null });
    vault().writeSecret({ mount: 'legacy', path, data: NEW_VALUE });
    await expect(v1(event)).resolves.toEqual({ action: 'deleted-new-version', version: 1 });
    expect(legacy(path)).toBeUndefined();
    expect(kms.calls()).toHaveLength(0);
  });

  it('does nothing when Vault does not serve the new key', async () => {
    const { path, event } = rolledBack();
    vault().writeSecret({ mount: 'legacy', path, data: PREVIOUS });
    await expect(v1(event)).resolves.toEqual({ action: 'none', version: 1 });
    expect(kms.calls()).toHaveLength(0);
  });

  it('writes back a value whose other fields are not strings (no ZodError), exactly as it was', async () => {
    const mixed = { ...PREVIOUS, rotation_days: 90, enabled: true, owners: ['a', 'b'], extra: { n: null } };
    const { path, event } = rolledBack({ plaintext: JSON.stringify(mixed) });
    await expect(v1(event)).resolves.toEqual({ action: 'rewrote-previous', version: 1 });
    expect(legacy(path)?.data).toEqual(mixed);
    await expect(v1(event)).resolves.toEqual({ action: 'none', version: 1 });
  });

  it.each(['not json', '[1,2]', '"a string"', 'null'])(
    'throws VaultDataError, writing nothing, when the sealed copy is %j and not a JSON object',
    async (plaintext) => {
      const { path, event } = rolledBack({ plaintext });
      const error = await rejectionOf(v1(event));
      expect(error.name).toBe('VaultDataError');
      expect(error.message).toContain(path);
      expect(error.message).not.toContain(plaintext);
      expect(legacy(path)?.data).toEqual(NEW_VALUE);
    },
  );

  it('throws SealedSecretError, writing nothing, for a copy sealed under another context', async () => {
    const { path, event } = rolledBack({ purpose: 'new-secret' });
    const error = await rejectionOf(v1(event));
    expect(error.name).toBe('SealedSecretError');
    expect(legacy(path)?.data).toEqual(NEW_VALUE);
  });

  it('throws VaultDataError, writing nothing, without a sealed copy (KV v1 keeps no old value)', async () => {
    const { path, event } = rolledBack({ sealed: false });
    const error = await rejectionOf(v1(event));
    expect(error.name).toBe('VaultDataError');
    expect(error.message).not.toContain(SECRET);
    expect(legacy(path)?.data).toEqual(NEW_VALUE);
  });

  it('throws VaultCasConflictError, keeping the other writer’s value, when the value changes meanwhile', async () => {
    const { path, event } = rolledBack();
    const racer = { access_key: 'AKIARACER00000000001', secret_key: 'racer' };
    kms.on(DecryptCommand).callsFake(() => {
      vault().writeSecret({ mount: 'legacy', path, data: racer });
      return Promise.resolve({ Plaintext: new Uint8Array(Buffer.from(JSON.stringify(PREVIOUS))) });
    });
    const error = await rejectionOf(v1(event));
    expect(error.name).toBe('VaultCasConflictError');
    expect(legacy(path)?.data).toEqual(racer);
  });
});
