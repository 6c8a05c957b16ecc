import { config } from '../config.js';
import { vault } from './client.js';
import { VaultDataError } from './errors.js';
import { KvV2 } from './kv.js';

/** Field names of Vault's own AWS secrets engine, which consumers already know. */
export const FIELDS = { accessKeyId: 'access_key', secretAccessKey: 'secret_key' } as const;

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the path holds now: its current version (0 when never written) and the key pair, if readable. */
export interface StoredKey {
  version: number;
  key: KeyPair | null;
}

let engine: KvV2 | undefined;

function kv(): KvV2 {
  engine ??= new KvV2(vault(), config().vault.mount);
  return engine;
}

function toKeyPair(path: string, data: Record<string, unknown> | null): KeyPair | null {
  if (data === null) return null;
  const accessKeyId = data[FIELDS.accessKeyId];
  const secretAccessKey = data[FIELDS.secretAccessKey];
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
    throw new VaultDataError(
      `the secret at ${path} has no ${FIELDS.accessKeyId}/${FIELDS.secretAccessKey} strings`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/** Reads the current (or a given) version of the key pair at `path`. */
export async function readStoredKey(path: string, version?: number): Promise<StoredKey> {
  const current = await kv().read(path, version);
  if (!current) return { version: 0, key: null };
  return { version: current.version, key: toKeyPair(path, current.data) };
}

/** Writes the key pair as a new version if the current version is still `cas`; returns the new version. */
export async function writeStoredKey(path: string, key: KeyPair, cas: number): Promise<number> {
  return kv().write(
    path,
    { [FIELDS.accessKeyId]: key.accessKeyId, [FIELDS.secretAccessKey]: key.secretAccessKey },
    cas,
  );
}

/** Records who rotated the key and when, for operators browsing Vault. */
export async function describeRotation(path: string, metadata: Record<string, string>): Promise<void> {
  await kv().setCustomMetadata(path, metadata);
}

/** Soft-deletes the current version, leaving the path as empty as it was before a first rotation. */
export async function deleteCurrentVersion(path: string): Promise<void> {
  await kv().deleteCurrent(path);
}
