import { readSecretFile } from '../functions/commons/secret-source.js';
import { VaultClient } from '../functions/commons/vault/client.js';
import { ConfigurationError } from '../functions/commons/errors.js';
import type { SecretSource } from '../functions/commons/vault/config.js';
import { VaultDataError, VaultPermissionDeniedError } from '../functions/commons/vault/errors.js';
import { detectKvVersion, type KvEngine, KvV1, KvV2 } from '../functions/commons/vault/kv.js';
import { NoKeyAtPathError } from './errors.js';
import type { CredentialSource } from './options.js';

/** The key a consumer uses, and when it was read. */
export interface ServedKey {
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * When the read began: Vault served this key at or after it, so a key stored later is read again
   * at most `refresh` after this (what the grace guidance counts on).
   */
  readAt: Date;
}

/** A consumer's secrets are in its environment or files, never in a store it would need AWS for. */
async function readConsumerSecret(source: SecretSource): Promise<string | undefined> {
  switch (source.kind) {
    case 'env':
      return source.value;
    case 'file':
      return readSecretFile(source.path);
    default:
      throw new Error(`a consumer reads no ${source.kind}`);
  }
}

/** Reads the key the rotator serves at one Vault path; one client (and login) for all reads. */
export class VaultKeyReader {
  private readonly client: VaultClient;
  private engine: Promise<KvEngine> | undefined;

  constructor(private readonly source: CredentialSource) {
    this.client = new VaultClient(source.vault, readConsumerSecret);
  }

  /** Where the key is read, for messages: the mount, path and Vault's address, never a secret. */
  get location(): string {
    const { mount, addr, namespace } = this.source.vault;
    return `${mount}/${this.source.vaultPath} at ${addr}${namespace ? ` (namespace ${namespace})` : ''}`;
  }

  private kv(): Promise<KvEngine> {
    this.engine ??= (async () => {
      const { mount, kvVersion } = this.source.vault;
      const version = kvVersion === 'auto' ? await this.detect(mount) : kvVersion;
      return version === 2 ? new KvV2(this.client, mount) : new KvV1(this.client, mount);
    })();
    // A failed detection is not kept: the next read asks again.
    this.engine.catch(() => {
      this.engine = undefined;
    });
    return this.engine;
  }

  /**
   * The mount's KV version. Vault refuses to tell it only to a token it does not know (or that
   * reaches nothing under the mount), which could not read the key either: that is the failure
   * to report, not the rotator's advice to set VAULT_KV_VERSION.
   */
  private async detect(mount: string): Promise<1 | 2> {
    try {
      return await detectKvVersion(this.client, mount);
    } catch (error) {
      if (error instanceof ConfigurationError && error.cause instanceof VaultPermissionDeniedError) {
        throw error.cause;
      }
      throw error;
    }
  }

  /** The current version's key pair; NoKeyAtPathError when there is none. */
  async read(): Promise<ServedKey> {
    const readAt = new Date();
    const entry = await (await this.kv()).read(this.source.vaultPath);
    if (!entry || entry.data === null) throw new NoKeyAtPathError(`${this.location} holds no key`);
    const { fields } = this.source.vault;
    const accessKeyId = entry.data[fields.accessKeyId];
    const secretAccessKey = entry.data[fields.secretAccessKey];
    if (
      typeof accessKeyId !== 'string' ||
      typeof secretAccessKey !== 'string' ||
      !accessKeyId ||
      !secretAccessKey
    ) {
      throw new VaultDataError(
        `${this.location} has no ${fields.accessKeyId}/${fields.secretAccessKey} strings`,
      );
    }
    return { accessKeyId, secretAccessKey, readAt };
  }
}
