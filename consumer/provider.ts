import { credentialSource } from './options.js';
import type { CredentialOptions, VaultCredentialProvider, VaultCredentials } from './types.js';
import { VaultKeyReader } from './vault-key.js';

/**
 * `fromVault({ vaultPath })`: a credential provider for AWS SDK v3 clients. A key read from Vault
 * is used for `refresh` seconds (default 300), then read again; the identity's `expiration` says
 * when, so the SDK asks again in time. Concurrent callers share one read. Options are checked
 * here, before any read: a bad one throws ConfigurationError.
 */
export function fromVault(
  options: CredentialOptions,
  env: Record<string, string | undefined> = process.env,
): VaultCredentialProvider {
  const source = credentialSource(options, env);
  const reader = new VaultKeyReader(source);
  let cached: VaultCredentials | undefined;
  let pending: Promise<VaultCredentials> | undefined;

  const read = (): Promise<VaultCredentials> => {
    const reading = reader.read().then((key) => {
      const identity = {
        accessKeyId: key.accessKeyId,
        secretAccessKey: key.secretAccessKey,
        expiration: new Date(key.readAt.getTime() + source.refreshSeconds * 1000),
      };
      // A read that a forced refresh overtook does not replace the newer key.
      if (pending === reading) cached = identity;
      return identity;
    });
    pending = reading;
    const clear = () => {
      if (pending === reading) pending = undefined;
    };
    reading.then(clear, clear);
    return reading;
  };

  const provider = async (props?: { forceRefresh?: boolean }) => {
    if (props?.forceRefresh) {
      cached = undefined;
      return read();
    }
    const expiration = cached?.expiration;
    if (cached && expiration && Date.now() < expiration.getTime()) return cached;
    return pending ?? read();
  };
  return Object.assign(provider, { refresh: () => provider({ forceRefresh: true }) });
}
