import { badRequest } from './errors.js';
import { isRecord } from './routes.js';
import type { KvMount, KvSecret, KvVersion } from './state.js';

/** Vault keeps 10 versions when neither the mount nor the secret sets max_versions. */
const DEFAULT_MAX_VERSIONS = 10;

export const now = (): string => new Date().toISOString();

export function newSecret(): KvSecret {
  const time = now();
  return {
    versions: new Map(),
    currentVersion: 0,
    oldestVersion: 0,
    maxVersions: 0,
    casRequired: false,
    customMetadata: null,
    createdTime: time,
    updatedTime: time,
  };
}

export function isGone(version: KvVersion): boolean {
  return version.destroyed || (version.deletionTime !== '' && Date.parse(version.deletionTime) <= Date.now());
}

export function versionMetadata(version: KvVersion): Record<string, unknown> {
  return {
    created_time: version.createdTime,
    deletion_time: version.deletionTime,
    destroyed: version.destroyed,
  };
}

/** Vault's validateCheckAndSetOption, with its exact messages. */
export function checkCas(mount: KvMount, secret: KvSecret, options: unknown): void {
  const cas = isRecord(options) ? options['cas'] : undefined;
  if (cas !== undefined) {
    const parsed = typeof cas === 'number' ? cas : Number(cas);
    if (!Number.isInteger(parsed)) throw badRequest('error parsing check-and-set parameter');
    if (parsed !== secret.currentVersion) {
      throw badRequest('check-and-set parameter did not match the current version');
    }
  } else if (mount.casRequired || secret.casRequired) {
    throw badRequest('check-and-set parameter required for this call');
  }
}

/** Adds a version and drops the oldest beyond max_versions, as the kv plugin's AddVersion does. */
export function addVersion(
  mount: KvMount,
  key: string,
  secret: KvSecret,
  data: Record<string, unknown>,
): KvVersion {
  const version: KvVersion = { data, createdTime: now(), deletionTime: '', destroyed: false };
  secret.currentVersion += 1;
  secret.versions.set(secret.currentVersion, version);
  secret.updatedTime = version.createdTime;
  if (secret.currentVersion === 1) secret.createdTime = version.createdTime;
  const max = secret.maxVersions || mount.maxVersions || DEFAULT_MAX_VERSIONS;
  const kept = [...secret.versions.keys()].sort((a, b) => a - b);
  for (const old of kept.slice(0, Math.max(0, kept.length - max))) secret.versions.delete(old);
  if (kept.length > max) secret.oldestVersion = Math.min(...secret.versions.keys());
  mount.v2.set(key, secret);
  return version;
}

export function customMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw badRequest('custom_metadata must be a map of string keys to string values');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

/** Keys one level below `prefix`, folders suffixed with `/`, as Vault's LIST returns them. */
export function listKeys(keys: Iterable<string>, prefix: string): string[] {
  const found = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    found.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  return [...found].filter((k) => k !== '').sort();
}
