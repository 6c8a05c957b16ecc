import { z } from 'zod';
import { VaultDataError } from './errors.js';
import type { VaultClient } from './client.js';

/** One version of a KV v2 secret; `data` is null when that version is deleted or destroyed. */
export interface KvVersion {
  version: number;
  data: Record<string, unknown> | null;
}

const ReadData = z.object({
  data: z.record(z.string(), z.unknown()).nullable(),
  metadata: z.object({ version: z.number().int() }),
});
const WriteData = z.object({ version: z.number().int() });

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The KV v2 engine at one mount. */
export class KvV2 {
  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
  ) {}

  private url(kind: 'data' | 'metadata', path: string, query = ''): string {
    return `${this.mount}/${kind}/${encodePath(path)}${query}`;
  }

  /** The current (or given) version, or null when the path was never written. */
  async read(path: string, version?: number): Promise<KvVersion | null> {
    const query = version === undefined ? '' : `?version=${version}`;
    const body = await this.client.request<unknown>('GET', this.url('data', path, query));
    if (!body) return null;
    const parsed = ReadData.safeParse(body.data);
    // A 404 for a deleted version still carries its metadata; without it the path is empty. A 404
    // with an error message is no secret at all but a wrong mount ("no handler for route").
    if (!parsed.success) {
      if (body.errors && body.errors.length > 0) {
        throw new VaultDataError(`Vault has no KV v2 engine at ${this.mount}/: ${body.errors.join('; ')}`);
      }
      if (body.errors !== undefined || body.data === undefined) return null;
      throw new VaultDataError(`Vault returned an unexpected body for ${this.mount}/data/${path}`);
    }
    return { version: parsed.data.metadata.version, data: parsed.data.data };
  }

  /** Writes a new version if the current version is `cas` (0: only if absent); returns the new version. */
  async write(path: string, data: Record<string, string>, cas: number): Promise<number> {
    const body = await this.client.request<unknown>('POST', this.url('data', path), {
      options: { cas },
      data,
    });
    const parsed = WriteData.safeParse(body?.data);
    if (!parsed.success) throw new VaultDataError(`Vault returned no version for ${this.mount}/data/${path}`);
    return parsed.data.version;
  }

  /** Replaces the secret's custom_metadata. */
  async setCustomMetadata(path: string, customMetadata: Record<string, string>): Promise<void> {
    await this.client.request('POST', this.url('metadata', path), { custom_metadata: customMetadata });
  }

  /** Soft-deletes the current version (undeletable). */
  async deleteCurrent(path: string): Promise<void> {
    await this.client.request('DELETE', this.url('data', path));
  }
}
