import axios from 'axios';
import type { AxiosInstance } from 'axios';
import { afterAll, beforeAll } from 'vitest';
import { startVaultEmulator } from '../../../local-stack/vault/index.js';
import type { VaultEmulator, VaultEmulatorOptions } from '../../../local-stack/vault/index.js';

export interface ClientOptions {
  token?: string;
  namespace?: string;
}

/** A raw HTTP client, as a Vault SDK would use: every status comes back instead of throwing. */
export function vaultClient(vault: VaultEmulator, options: ClientOptions = {}): AxiosInstance {
  return axios.create({
    baseURL: `${vault.addr}/v1/`,
    validateStatus: () => true,
    timeout: 5_000,
    headers: {
      ...(options.token ? { 'X-Vault-Token': options.token } : {}),
      ...(options.namespace ? { 'X-Vault-Namespace': options.namespace } : {}),
    },
  });
}

/** Starts one emulator for the enclosing describe block and closes it afterwards. */
export function useVault(options: Partial<VaultEmulatorOptions> = {}): () => VaultEmulator {
  let vault: VaultEmulator | undefined;
  beforeAll(async () => {
    vault = await startVaultEmulator({ stsEndpoint: 'http://127.0.0.1:9', ...options });
  });
  afterAll(async () => {
    await vault?.close();
  });
  return () => {
    if (!vault) throw new Error('the Vault emulator has not started');
    return vault;
  };
}

let counter = 0;
/** A secret path no other test in the file uses. */
export const uniquePath = (prefix = 'app'): string =>
  `${prefix}/${Date.now().toString(36)}-${(counter += 1)}`;
