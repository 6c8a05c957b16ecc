import { config } from '../config.js';
import { readSecretSource } from '../secret-source.js';
import { VaultClient } from './client.js';
import { VaultDataError } from './errors.js';
import { detectKvVersion, type Expected, type KvEngine, KvV1, KvV2 } from './kv.js';

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the path holds: its version (0 when never written), the key pair if readable, and all its fields. */
export interface StoredKey {
  version: number;
  key: KeyPair | null;
  data: Record<string, unknown> | null;
}

let client: VaultClient | undefined;

/** The container's Vault client. */
function vault(): VaultClient {
  client ??= new VaultClient(config().vault, readSecretSource);
  return client;
}

let engine: Promise<KvEngine> | undefined;

/** The KV engine at the configured mount, its version configured or asked of Vault once. */
export function kv(): Promise<KvEngine> {
  engine ??= (async () => {
    const { mount, kvVersion } = config().vault;
    const version = kvVersion === 'auto' ? await detectKvVersion(vault(), mount) : kvVersion;
    return version === 2 ? new KvV2(vault(), mount) : new KvV1(vault(), mount);
  })();
  engine.catch(() => {
    engine = undefined;
  });
  return engine;
}

/** 1 or 2: the KV version of the configured mount. */
export async function kvVersion(): Promise<1 | 2> {
  return (await kv()).version;
}

function toKeyPair(path: string, data: Record<string, unknown> | null): KeyPair | null {
  if (data === null) return null;
  const { fields } = config().vault;
  const accessKeyId = data[fields.accessKeyId];
  const secretAccessKey = data[fields.secretAccessKey];
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
    throw new VaultDataError(
      `the secret at ${path} has no ${fields.accessKeyId}/${fields.secretAccessKey} strings`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/** Reads the current (or a given) version of the key pair at `path`. */
export async function readStoredKey(path: string, version?: number): Promise<StoredKey> {
  const current = await (await kv()).read(path, version);
  if (!current) return { version: 0, key: null, data: null };
  return { version: current.version, key: toKeyPair(path, current.data), data: current.data };
}

/** What a write expects: the version read and the key id it held (null: nothing readable). */
export function expecting(before: { version: number; accessKeyId: string | null }): Expected {
  const { fields } = config().vault;
  return {
    version: before.version,
    matches: (data) => (data?.[fields.accessKeyId] ?? null) === before.accessKeyId,
  };
}

/** Writes the key pair, with the configured extra fields, if the path still holds what was read. */
export async function writeStoredKey(
  path: string,
  key: KeyPair,
  before: { version: number; accessKeyId: string | null },
): Promise<number> {
  const { fields, extraFields } = config().vault;
  const data = {
    ...extraFields,
    [fields.accessKeyId]: key.accessKeyId,
    [fields.secretAccessKey]: key.secretAccessKey,
  };
  return (await kv()).write(path, data, expecting(before));
}

/** Writes back a value exactly as it was read (rollback), if the path still holds what was read. */
export async function restoreStoredData(
  path: string,
  data: Record<string, unknown>,
  before: { version: number; accessKeyId: string | null },
): Promise<number> {
  return (await kv()).write(path, data, expecting(before));
}

/** Records who rotated the key and when, for operators browsing Vault (KV v2 only). */
export async function describeRotation(path: string, metadata: Record<string, string>): Promise<void> {
  await (await kv()).setCustomMetadata(path, metadata);
}

/** Removes the current value, leaving the path as empty as it was before a first rotation. */
export async function deleteCurrentVersion(path: string): Promise<void> {
  await (await kv()).deleteCurrent(path);
}
