import { Traffic } from '../traffic.js';
import { adminHandlers, handleAdmin } from './admin.js';
import { VaultControl } from './control.js';
import type { CreateTokenOptions, SecretView, WriteSecretOptions } from './control.js';
import { handleVaultRequest } from './router.js';
import { startServer } from './server.js';
import type { TlsOptions } from './server.js';
import type { VaultSnapshot } from './snapshot.js';
import { VaultState } from './state.js';
import { issueToken } from './tokens.js';
import { serviceToken } from './ids.js';

export type { CreateTokenOptions, SecretView, TlsOptions, VaultSnapshot, WriteSecretOptions };
export type { NamespaceSnapshot, SecretSnapshot, VersionSnapshot } from './snapshot.js';
export { VaultEmulatorError, VaultEmulatorUsageError, VaultHttpError } from './errors.js';
export { ROUTES } from './router.js';
export { OPENAPI_ROOT } from './routes.js';
export type { Route, Scope, TrafficOp, VaultMethod } from './routes.js';

export interface VaultEmulatorOptions {
  /** Where `auth/aws/login` forwards the signed GetCallerIdentity (unless auth/aws/config/client sets sts_endpoint). */
  stsEndpoint: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  rootToken?: string;
  traffic?: Traffic;
  tls?: TlsOptions;
}

export interface VaultEmulator {
  /** `http(s)://127.0.0.1:PORT`, the value for VAULT_ADDR. */
  readonly addr: string;
  readonly rootToken: string;
  readonly traffic: Traffic;
  seal(): void;
  unseal(): void;
  createNamespace(name: string): void;
  enableKv(path: string, version: 1 | 2, namespace?: string): void;
  putPolicy(name: string, hcl: string, namespace?: string): void;
  /** Returns the new token's id. */
  createToken(options: CreateTokenOptions): string;
  /** Returns the new version number on KV v2, undefined on KV v1. */
  writeSecret(options: WriteSecretOptions): number | undefined;
  readSecret(mount: string, path: string, namespace?: string): SecretView | undefined;
  snapshot(): VaultSnapshot;
  close(): Promise<void>;
}

/** Starts Vault's HTTP API on loopback, with `secret/` (KV v2) mounted and a root token. */
export async function startVaultEmulator(options: VaultEmulatorOptions): Promise<VaultEmulator> {
  const state = new VaultState();
  const traffic = options.traffic ?? new Traffic();
  const rootToken = issueToken(state.root(), {
    policies: ['root'],
    id: options.rootToken ?? serviceToken(state.root().id),
    orphan: true,
    path: 'auth/token/root',
    displayName: 'root',
  }).id;
  const control = new VaultControl(state);
  const admin = adminHandlers(control, traffic);
  const server = await startServer(
    {
      vault: (request) => handleVaultRequest({ state, traffic, stsEndpoint: options.stsEndpoint }, request),
      admin: (method, path, body) => handleAdmin(admin, method, path, body),
    },
    {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      ...(options.tls ? { tls: options.tls } : {}),
    },
  );
  return {
    addr: server.addr,
    rootToken,
    traffic,
    seal: () => control.seal(),
    unseal: () => control.unseal(),
    createNamespace: (name) => control.createNamespace(name),
    enableKv: (path, version, namespace) => control.enableKv(path, version, namespace),
    putPolicy: (name, hcl, namespace) => control.putPolicy(name, hcl, namespace),
    createToken: (tokenOptions) => control.createToken(tokenOptions),
    writeSecret: (secret) => control.writeSecret(secret),
    readSecret: (mount, path, namespace) => control.readSecret(mount, path, namespace),
    snapshot: () => control.snapshot(),
    close: () => server.close(),
  };
}
