import { VaultEmulatorUsageError, VaultHttpError } from './errors.js';
import { addVersion, isGone, newSecret } from './kv2-store.js';
import { newMount, normaliseMountPath } from './state.js';
import type { KvMount, VaultState } from './state.js';
import { snapshot } from './snapshot.js';
import type { VaultSnapshot } from './snapshot.js';
import { putPolicy } from './sys.js';
import { issueToken } from './tokens.js';

export interface CreateTokenOptions {
  policies: string[];
  ttlSeconds?: number;
  namespace?: string;
}

export interface WriteSecretOptions {
  mount: string;
  path: string;
  data: Record<string, unknown>;
  customMetadata?: Record<string, string>;
  namespace?: string;
}

/** What `readSecret` returns: the current version, with metadata named as on the wire (null on KV v1). */
export interface SecretView {
  data: Record<string, unknown> | null;
  metadata: {
    version: number;
    created_time: string;
    deletion_time: string;
    destroyed: boolean;
    custom_metadata: Record<string, string> | null;
  } | null;
}

/** Test-side control of the emulator, shared by the admin HTTP API and the programmatic API. */
export class VaultControl {
  constructor(private readonly state: VaultState) {}

  seal(): void {
    this.state.sealed = true;
  }

  unseal(): void {
    this.state.sealed = false;
  }

  createNamespace(name: string): void {
    this.state.createNamespace(name);
  }

  enableKv(path: string, version: 1 | 2, namespace?: string): void {
    const ns = this.state.namespace(namespace);
    const normalised = normaliseMountPath(path);
    const existing = ns.mounts.get(normalised);
    if (existing && existing.version !== version) {
      throw new VaultEmulatorUsageError(`path is already in use at ${normalised}`);
    }
    if (!existing) ns.mounts.set(normalised, newMount(normalised, version));
  }

  putPolicy(name: string, hcl: string, namespace?: string): void {
    try {
      putPolicy(this.state, namespace, name, hcl);
    } catch (error) {
      if (error instanceof VaultHttpError) throw new VaultEmulatorUsageError(error.errors.join('; '));
      throw error;
    }
  }

  createToken(options: CreateTokenOptions): string {
    const ns = this.state.namespace(options.namespace);
    return issueToken(ns, { policies: options.policies, ttlSeconds: options.ttlSeconds }).id;
  }

  /** Writes a new version (KV v2; returns its number) or the value (KV v1; returns undefined). */
  writeSecret(options: WriteSecretOptions): number | undefined {
    const mount = this.mount(options.mount, options.namespace);
    if (mount.version === 1) {
      mount.v1.set(options.path, { ...options.data });
      return undefined;
    }
    const secret = mount.v2.get(options.path) ?? newSecret();
    if (options.customMetadata) secret.customMetadata = { ...options.customMetadata };
    // Seeding bypasses check-and-set on purpose: tests set up state, they do not race writers.
    addVersion(mount, options.path, secret, { ...options.data });
    return secret.currentVersion;
  }

  readSecret(mountPath: string, path: string, namespace?: string): SecretView | undefined {
    const mount = this.mount(mountPath, namespace);
    if (mount.version === 1) {
      const data = mount.v1.get(path);
      return data ? { data, metadata: null } : undefined;
    }
    const secret = mount.v2.get(path);
    const version = secret?.versions.get(secret.currentVersion);
    if (!secret || !version) return undefined;
    return {
      data: isGone(version) ? null : version.data,
      metadata: {
        version: secret.currentVersion,
        created_time: version.createdTime,
        deletion_time: version.deletionTime,
        destroyed: version.destroyed,
        custom_metadata: secret.customMetadata,
      },
    };
  }

  snapshot(): VaultSnapshot {
    return snapshot(this.state);
  }

  private mount(path: string, namespace: string | undefined): KvMount {
    const normalised = normaliseMountPath(path);
    const mount = this.state.namespace(namespace).mounts.get(normalised);
    if (!mount) throw new VaultEmulatorUsageError(`no kv mount at ${normalised}`);
    return mount;
  }
}
