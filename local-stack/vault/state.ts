import { VaultEmulatorUsageError } from './errors.js';
import { base62, uuid } from './ids.js';
import type { Policy } from './policy.js';
import { DEFAULT_POLICY_HCL, parsePolicy } from './policy.js';

export interface KvVersion {
  data: Record<string, unknown> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

export interface KvSecret {
  versions: Map<number, KvVersion>;
  currentVersion: number;
  oldestVersion: number;
  maxVersions: number;
  casRequired: boolean;
  customMetadata: Record<string, string> | null;
  createdTime: string;
  updatedTime: string;
}

export interface KvMount {
  /** With the trailing slash, as Vault reports mount paths: `secret/`. */
  path: string;
  version: 1 | 2;
  accessor: string;
  uuid: string;
  casRequired: boolean;
  maxVersions: number;
  v2: Map<string, KvSecret>;
  v1: Map<string, Record<string, unknown>>;
}

export interface Token {
  id: string;
  accessor: string;
  namespace: string;
  policies: string[];
  /** 0 = never expires (the root token). */
  ttlSeconds: number;
  issuedAt: number;
  expiresAt: number | undefined;
  renewable: boolean;
  orphan: boolean;
  path: string;
  displayName: string;
  meta: Record<string, string> | null;
}

export interface AwsRole {
  authType: 'iam' | 'ec2';
  boundIamPrincipalArns: string[];
  policies: string[];
  ttlSeconds: number;
  maxTtlSeconds: number;
  roleId: string;
  resolveAwsUniqueIds: boolean;
}

export interface AppRoleSecretId {
  accessor: string;
  expiresAt: number | undefined;
  usesLeft: number | undefined;
}

export interface AppRole {
  roleId: string;
  policies: string[];
  ttlSeconds: number;
  bindSecretId: boolean;
  secretIdTtlSeconds: number;
  secretIdNumUses: number;
  secretIds: Map<string, AppRoleSecretId>;
}

export interface Namespace {
  /** `root` for the root namespace, else its name. */
  name: string;
  /** Vault's namespace id, the suffix of tokens issued in it. */
  id: string;
  mounts: Map<string, KvMount>;
  policies: Map<string, Policy>;
  tokens: Map<string, Token>;
  awsRoles: Map<string, AwsRole>;
  awsClient: { iamServerIdHeaderValue: string; stsEndpoint: string };
  appRoles: Map<string, AppRole>;
}

export const ROOT_NAMESPACE = 'root';
const NAMESPACE_NAME = /^[A-Za-z0-9_-]+$/;
const MOUNT_PATH = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\/?$/;

export function newMount(path: string, version: 1 | 2): KvMount {
  return {
    path: normaliseMountPath(path),
    version,
    accessor: `kv_${base62(8).toLowerCase()}`,
    uuid: uuid(),
    casRequired: false,
    maxVersions: 0,
    v2: new Map(),
    v1: new Map(),
  };
}

export function normaliseMountPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '');
  if (!MOUNT_PATH.test(trimmed) || /^(sys|auth|cubbyhole|identity)\//.test(`${trimmed}/`)) {
    throw new VaultEmulatorUsageError(`invalid mount path ${JSON.stringify(path)}`);
  }
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

function newNamespace(name: string): Namespace {
  return {
    name,
    id: name === ROOT_NAMESPACE ? ROOT_NAMESPACE : base62(5),
    mounts: new Map(),
    policies: new Map([['default', parsePolicy('default', DEFAULT_POLICY_HCL)]]),
    tokens: new Map(),
    awsRoles: new Map(),
    awsClient: { iamServerIdHeaderValue: '', stsEndpoint: '' },
    appRoles: new Map(),
  };
}

/** Everything the emulator remembers, per namespace, plus the seal. */
export class VaultState {
  sealed = false;
  readonly clusterId = uuid();
  readonly clusterName = `vault-cluster-${base62(8).toLowerCase()}`;
  readonly namespaces = new Map<string, Namespace>([[ROOT_NAMESPACE, newNamespace(ROOT_NAMESPACE)]]);

  constructor() {
    this.root().mounts.set('secret/', newMount('secret/', 2));
  }

  root(): Namespace {
    return this.namespace(ROOT_NAMESPACE);
  }

  namespace(name: string | undefined): Namespace {
    const ns = this.namespaces.get(name ?? ROOT_NAMESPACE);
    if (!ns) throw new VaultEmulatorUsageError(`no namespace named ${JSON.stringify(name)}`);
    return ns;
  }

  createNamespace(name: string): Namespace {
    if (!NAMESPACE_NAME.test(name) || name === ROOT_NAMESPACE) {
      throw new VaultEmulatorUsageError(`invalid namespace name ${JSON.stringify(name)}`);
    }
    const existing = this.namespaces.get(name);
    if (existing) return existing;
    const ns = newNamespace(name);
    this.namespaces.set(name, ns);
    return ns;
  }

  /** The kv mount serving `path` (longest mount-path prefix), as Vault's router picks it. */
  mountFor(ns: Namespace, path: string): KvMount | undefined {
    let best: KvMount | undefined;
    for (const mount of ns.mounts.values()) {
      if (
        (path.startsWith(mount.path) || `${path}/` === mount.path) &&
        mount.path.length > (best?.path.length ?? 0)
      ) {
        best = mount;
      }
    }
    return best;
  }
}
