import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Created } from '../../functions/commons/state.js';
import type { VaultEmulator } from '../../local-stack/vault/index.js';
import {
  makeCreated,
  makeRequest,
  OLD_SECRET,
  rejectionOf,
  SECRET,
  setHandlerEnv,
  startVault,
  uniqueUser,
} from './support.js';

interface Restored {
  action: 'none' | 'rewrote-previous' | 'deleted-new-version';
  version: number;
}

let vault: VaultEmulator;
let handler: (event: unknown) => Promise<Restored>;

const NEW_KEY = 'AKIANEWKEY0000000001';
const OLD_KEY = 'AKIAOLDKEY0000000001';

beforeAll(async () => {
  vault = await startVault();
  setHandlerEnv(vault);
  ({ handler } = await import('../../functions/restoreVault.js'));
});

afterAll(async () => {
  await vault.close();
});

function write(path: string, accessKeyId: string, secret: string) {
  return vault.writeSecret({ mount: 'secret', path, data: { access_key: accessKeyId, secret_key: secret } });
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
    expect(vault.readSecret('secret', path)?.metadata?.version).toBe(1);
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
    expect(vault.readSecret('secret', path)).toMatchObject({
      data: { access_key: OLD_KEY, secret_key: OLD_SECRET },
      metadata: { version: 3 },
    });
    expect(JSON.stringify(result)).not.toContain(OLD_SECRET);
  });

  it('deletes the new version when the path held no key before', async () => {
    const { path, event } = rollback({ version: 0, accessKeyId: null });
    write(path, NEW_KEY, SECRET);
    await expect(handler(event)).resolves.toEqual({ action: 'deleted-new-version', version: 1 });
    expect(vault.readSecret('secret', path)).toMatchObject({ data: null, metadata: { version: 1 } });
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
    expect(vault.readSecret('secret', path)?.metadata?.version).toBe(2);
  });

  it('throws VaultUnavailableError while Vault is sealed', async () => {
    const { path, event } = rollback({ version: 1, accessKeyId: OLD_KEY });
    write(path, OLD_KEY, OLD_SECRET);
    write(path, NEW_KEY, SECRET);
    vault.seal();
    try {
      expect((await rejectionOf(handler(event))).name).toBe('VaultUnavailableError');
    } finally {
      vault.unseal();
    }
  });
});
