import { DecryptCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import type { Request } from '../../functions/commons/input.js';
import type { Created, Stored } from '../../functions/commons/state.js';
import {
  EXECUTION,
  fakeSeal,
  makeCreated,
  makeRequest,
  OLD_SECRET,
  rejectionOf,
  SECRET,
  sdkError,
  uniqueUser,
  useFakeKms,
  useHandler,
} from './support.js';

const { vault, handler } = useHandler<Stored>(() => import('../../functions/storeInVault.js'));
const { kms, fakeKms } = useFakeKms();

const OLD_KEY = 'AKIAOLDKEY0000000001';
const NEW_KEY = 'AKIANEWKEY0000000001';

/** A user whose Vault path holds OLD_KEY at version 1, and createKey's output for NEW_KEY. */
function rotation(options: { vaultEmpty?: boolean; sealedFor?: Partial<Request> } = {}) {
  const request = makeRequest({ userName: uniqueUser() });
  if (!options.vaultEmpty) {
    vault().writeSecret({
      mount: 'secret',
      path: request.vaultPath,
      data: { access_key: OLD_KEY, secret_key: OLD_SECRET },
    });
  }
  const sealer = { ...request, ...options.sealedFor };
  const created: Created = makeCreated(request.userName, {
    accessKeyId: NEW_KEY,
    sealedSecret: {
      ciphertext: fakeSeal(fakeKms, SECRET, {
        execution: sealer.execution,
        userName: sealer.userName,
        accessKeyId: NEW_KEY,
      }),
    },
    oldAccessKeyIds: options.vaultEmpty ? [] : [OLD_KEY],
    hasOldKeys: !options.vaultEmpty,
    vaultBefore: options.vaultEmpty
      ? { version: 0, accessKeyId: null }
      : { version: 1, accessKeyId: OLD_KEY },
  });
  return { request, created, event: { request, created } };
}

describe('storeInVault handler', () => {
  it('writes access_key and secret_key as the next version with cas = vaultBefore.version', async () => {
    const { request, event } = rotation();
    const result = await handler(event);
    expect(result).toMatchObject({ version: 2, previousVersion: 1, alreadyStored: false });
    expect(vault().readSecret('secret', request.vaultPath)).toMatchObject({
      data: { access_key: NEW_KEY, secret_key: SECRET },
      metadata: { version: 2 },
    });
  });

  it('writes the first version of a path never written', async () => {
    const { request, event } = rotation({ vaultEmpty: true });
    await expect(handler(event)).resolves.toMatchObject({
      version: 1,
      previousVersion: 0,
      alreadyStored: false,
    });
    expect(vault().readSecret('secret', request.vaultPath)?.data).toEqual({
      access_key: NEW_KEY,
      secret_key: SECRET,
    });
  });

  it('records who rotated what in custom_metadata', async () => {
    const { request, event } = rotation();
    await handler(event);
    const metadata = vault().readSecret('secret', request.vaultPath)?.metadata?.custom_metadata;
    expect(metadata).toMatchObject({
      rotated_by: EXECUTION,
      access_key_id: NEW_KEY,
      previous_access_key_id: OLD_KEY,
    });
    expect(new Date(metadata?.rotated_at ?? '').toISOString()).toBe(metadata?.rotated_at);
  });

  it('records an empty previous key id for a first key', async () => {
    const { request, event } = rotation({ vaultEmpty: true });
    await handler(event);
    expect(vault().readSecret('secret', request.vaultPath)?.metadata?.custom_metadata).toMatchObject({
      previous_access_key_id: '',
    });
  });

  it('returns when Vault was found serving the new key', async () => {
    const { event } = rotation();
    const before = Date.now();
    const { storedAt } = await handler(event);
    expect(Date.parse(storedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(storedAt)).toBeLessThanOrEqual(Date.now());
  });

  it('never returns the secret', async () => {
    const { event } = rotation();
    expect(JSON.stringify(await handler(event))).not.toContain(SECRET);
  });

  it('does not write a new version when a re-run finds Vault already holding the key', async () => {
    const { request, event } = rotation();
    await handler(event);
    kms.resetHistory();
    const again = await handler(event);
    expect(again).toMatchObject({ version: 2, previousVersion: 1, alreadyStored: true });
    expect(vault().readSecret('secret', request.vaultPath)?.metadata?.version).toBe(2);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
  });

  it('throws VaultCasConflictError and leaves Vault alone when another writer moved the version', async () => {
    const { request, event } = rotation();
    vault().writeSecret({
      mount: 'secret',
      path: request.vaultPath,
      data: { access_key: 'AKIAOTHER', secret_key: 'x' },
    });
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('VaultCasConflictError');
    expect(error.message).not.toContain(SECRET);
    expect(vault().readSecret('secret', request.vaultPath)).toMatchObject({
      data: { access_key: 'AKIAOTHER' },
      metadata: { version: 2 },
    });
  });

  it.each([
    ['another execution', { execution: `${EXECUTION}-other` }],
    ['another user', { userName: 'mallory' }],
  ])('throws SealedSecretError for a secret sealed for %s and writes nothing', async (_what, sealedFor) => {
    const { request, event } = rotation({ sealedFor });
    const error = await rejectionOf(handler(event));
    expect(error.name).toBe('SealedSecretError');
    expect(error.message).not.toContain(SECRET);
    expect(vault().readSecret('secret', request.vaultPath)?.metadata?.version).toBe(1);
  });

  it('throws VaultUnavailableError while Vault answers 503', async () => {
    const { event } = rotation();
    vault().seal();
    try {
      const error = await rejectionOf(handler(event));
      expect(error.name).toBe('VaultUnavailableError');
    } finally {
      vault().unseal();
    }
  });

  it('throws AwsUnavailableError when KMS Decrypt is throttled, writing nothing', async () => {
    const { request, event } = rotation();
    kms.reset();
    kms.on(DecryptCommand).rejects(sdkError('ThrottlingException', 400));
    expect((await rejectionOf(handler(event))).name).toBe('AwsUnavailableError');
    expect(vault().readSecret('secret', request.vaultPath)?.metadata?.version).toBe(1);
  });

  it('throws InvalidInputError when created is missing', async () => {
    const error = await rejectionOf(handler({ request: makeRequest() }));
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toContain('created');
  });
});
