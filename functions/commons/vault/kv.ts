import { isDeepStrictEqual } from 'node:util';
import * as z from '../zod.js';
import { ConfigurationError } from '../errors.js';
import type { VaultClient } from './client.js';
import { VaultCasConflictError, VaultDataError, VaultPermissionDeniedError } from './errors.js';

/** One version of a secret; `data` is null when that version is deleted or destroyed. */
export interface KvEntry {
  version: number;
  data: Record<string, unknown> | null;
}

/** What a write expects to find: the version read (KV v2 check-and-set) and a test of its data (KV v1). */
export interface Expected {
  version: number;
  matches: (data: Record<string, unknown> | null) => boolean;
}

/** The operations the rotator needs from a KV engine, whatever its version. */
export interface KvEngine {
  readonly version: 1 | 2;
  /** The current (or, on v2, a given) version, or null when the path was never written. */
  read(path: string, version?: number): Promise<KvEntry | null>;
  /** Writes a new value if the path still holds what was read; returns the new version. */
  write(path: string, data: Record<string, unknown>, expected: Expected): Promise<number>;
  /** Sets custom_metadata (v2); KV v1 has none. */
  setCustomMetadata(path: string, customMetadata: Record<string, string>): Promise<void>;
  /** Removes the current value (v2: soft delete, undeletable; v1: delete). */
  deleteCurrent(path: string): Promise<void>;
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');
const Data = z.record(z.string(), z.unknown());
const ReadV2 = z.object({
  data: z.nullable(Data),
  metadata: z.object({ version: z.number().check(z.int()) }),
});
const WriteV2 = z.object({ version: z.number().check(z.int()) });

/** A 404 with an error message is no secret at all but a wrong mount ("no handler for route"). */
function checkMount(mount: string, errors: string[] | undefined): void {
  if (errors && errors.length > 0) {
    throw new VaultDataError(`Vault has no KV engine at ${mount}/: ${errors.join('; ')}`);
  }
}

/** KV v2: versions, check-and-set and custom metadata. */
export class KvV2 implements KvEngine {
  readonly version = 2;

  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
  ) {}

  private url(kind: 'data' | 'metadata', path: string, query = ''): string {
    return `${this.mount}/${kind}/${encodePath(path)}${query}`;
  }

  async read(path: string, version?: number): Promise<KvEntry | null> {
    const query = version === undefined ? '' : `?version=${version}`;
    const body = await this.client.request<unknown>('GET', this.url('data', path, query));
    if (!body) return null;
    // A 404 for a deleted version still carries its metadata; without it the path is empty.
    const parsed = ReadV2.safeParse(body.data);
    if (parsed.success) return { version: parsed.data.metadata.version, data: parsed.data.data };
    checkMount(this.mount, body.errors);
    if (body.errors !== undefined || body.data === undefined) return null;
    throw new VaultDataError(`Vault returned an unexpected body for ${this.mount}/data/${path}`);
  }

  async write(path: string, data: Record<string, unknown>, expected: Expected): Promise<number> {
    const body = await this.client.request<unknown>('POST', this.url('data', path), {
      options: { cas: expected.version },
      data,
    });
    const parsed = WriteV2.safeParse(body?.data);
    if (!parsed.success) throw new VaultDataError(`Vault returned no version for ${this.mount}/data/${path}`);
    return parsed.data.version;
  }

  async setCustomMetadata(path: string, customMetadata: Record<string, string>): Promise<void> {
    await this.client.request('POST', this.url('metadata', path), { custom_metadata: customMetadata });
  }

  async deleteCurrent(path: string): Promise<void> {
    await this.client.request('DELETE', this.url('data', path));
  }
}

/**
 * KV v1: one value per path, no versions and no check-and-set. Version is 1 while a value exists.
 * A concurrent writer is detected by reading just before and just after the write.
 */
export class KvV1 implements KvEngine {
  readonly version = 1;

  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
  ) {}

  private url(path: string): string {
    return `${this.mount}/${encodePath(path)}`;
  }

  async read(path: string, version?: number): Promise<KvEntry | null> {
    if (version !== undefined && version !== 1) return null;
    const body = await this.client.request<unknown>('GET', this.url(path));
    if (!body) return null;
    const parsed = Data.safeParse(body.data);
    if (parsed.success) return { version: 1, data: parsed.data };
    checkMount(this.mount, body.errors);
    return null;
  }

  async write(path: string, data: Record<string, unknown>, expected: Expected): Promise<number> {
    const conflict = () =>
      new VaultCasConflictError({
        method: 'POST',
        path: this.url(path),
        status: 0,
        errors: ['another writer changed the secret since it was read (KV v1 has no check-and-set)'],
      });
    if (!expected.matches((await this.read(path))?.data ?? null)) throw conflict();
    await this.client.request('POST', this.url(path), data);
    // Compared by value, not text: Vault returns the fields in its own (sorted) order.
    const written = (await this.read(path))?.data ?? null;
    if (written === null || !isDeepStrictEqual(written, data)) throw conflict();
    return 1;
  }

  async setCustomMetadata(): Promise<void> {
    // KV v1 keeps no metadata; the rotation is recorded in the function's logs only.
  }

  async deleteCurrent(path: string): Promise<void> {
    await this.client.request('DELETE', this.url(path));
  }
}

const MountInfo = z.object({
  data: z.object({
    type: z.string(),
    options: z.optional(z.nullable(z.object({ version: z.optional(z.string()) }))),
  }),
});

/** Asks Vault which KV version the mount runs; needs no policy beyond access to paths under it. */
export async function detectKvVersion(client: VaultClient, mount: string): Promise<1 | 2> {
  let body;
  try {
    body = await client.request<unknown>('GET', `sys/internal/ui/mounts/${encodePath(mount)}`);
  } catch (error) {
    if (error instanceof VaultPermissionDeniedError) {
      throw new ConfigurationError(
        `cannot ask Vault which KV version ${mount}/ runs (403); set VAULT_KV_VERSION to 1 or 2`,
        { cause: error },
      );
    }
    throw error;
  }
  const parsed = MountInfo.safeParse(body);
  if (!parsed.success || parsed.data.data.type !== 'kv') {
    throw new ConfigurationError(`Vault has no KV engine at ${mount}/`);
  }
  return parsed.data.data.options?.version === '2' ? 2 : 1;
}
