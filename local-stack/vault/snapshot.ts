import { remainingSeconds } from './tokens.js';
import type { KvMount, Namespace, VaultState } from './state.js';

export interface VersionSnapshot {
  data: Record<string, unknown> | null;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface SecretSnapshot {
  mount: string;
  path: string;
  /** KV v1 data; undefined on KV v2 mounts. */
  data?: Record<string, unknown>;
  current_version?: number;
  oldest_version?: number;
  max_versions?: number;
  cas_required?: boolean;
  custom_metadata?: Record<string, string> | null;
  versions?: Record<string, VersionSnapshot>;
}

export interface NamespaceSnapshot {
  mounts: Record<string, { type: 'kv'; version: 1 | 2; cas_required: boolean; max_versions: number }>;
  /** Keyed `<mount path><secret path>`, e.g. `secret/app/key`. */
  secrets: Record<string, SecretSnapshot>;
  policies: Record<string, string>;
  aws_roles: Record<string, { bound_iam_principal_arn: string[]; policies: string[]; token_ttl: number }>;
  aws_client: { iam_server_id_header_value: string; sts_endpoint: string };
  approles: Record<string, { role_id: string; policies: string[]; token_ttl: number; secret_ids: number }>;
  live_tokens: number;
}

export interface VaultSnapshot {
  sealed: boolean;
  namespaces: Record<string, NamespaceSnapshot>;
}

function mountSecrets(mount: KvMount): [string, SecretSnapshot][] {
  const v1 = [...mount.v1].map(([path, data]): [string, SecretSnapshot] => [
    `${mount.path}${path}`,
    { mount: mount.path, path, data },
  ]);
  const v2 = [...mount.v2].map(([path, secret]): [string, SecretSnapshot] => [
    `${mount.path}${path}`,
    {
      mount: mount.path,
      path,
      current_version: secret.currentVersion,
      oldest_version: secret.oldestVersion,
      max_versions: secret.maxVersions,
      cas_required: secret.casRequired,
      custom_metadata: secret.customMetadata,
      versions: Object.fromEntries(
        [...secret.versions].map(([n, v]) => [
          String(n),
          {
            data: v.data,
            created_time: v.createdTime,
            deletion_time: v.deletionTime,
            destroyed: v.destroyed,
          },
        ]),
      ),
    },
  ]);
  return [...v1, ...v2];
}

function namespaceSnapshot(ns: Namespace): NamespaceSnapshot {
  const mounts = [...ns.mounts.values()];
  return {
    mounts: Object.fromEntries(
      mounts.map((m) => [
        m.path,
        { type: 'kv' as const, version: m.version, cas_required: m.casRequired, max_versions: m.maxVersions },
      ]),
    ),
    secrets: Object.fromEntries(mounts.flatMap(mountSecrets)),
    policies: Object.fromEntries([...ns.policies].map(([name, p]) => [name, p.hcl])),
    aws_roles: Object.fromEntries(
      [...ns.awsRoles].map(([name, r]) => [
        name,
        { bound_iam_principal_arn: r.boundIamPrincipalArns, policies: r.policies, token_ttl: r.ttlSeconds },
      ]),
    ),
    aws_client: {
      iam_server_id_header_value: ns.awsClient.iamServerIdHeaderValue,
      sts_endpoint: ns.awsClient.stsEndpoint,
    },
    approles: Object.fromEntries(
      [...ns.appRoles].map(([name, r]) => [
        name,
        { role_id: r.roleId, policies: r.policies, token_ttl: r.ttlSeconds, secret_ids: r.secretIds.size },
      ]),
    ),
    live_tokens: [...ns.tokens.values()].filter((t) => t.expiresAt === undefined || remainingSeconds(t) > 0)
      .length,
  };
}

/** A JSON-ready copy of everything the emulator holds; this is a test stack, so secrets are included. */
export function snapshot(state: VaultState): VaultSnapshot {
  return {
    sealed: state.sealed,
    namespaces: Object.fromEntries([...state.namespaces].map(([name, ns]) => [name, namespaceSnapshot(ns)])),
  };
}
