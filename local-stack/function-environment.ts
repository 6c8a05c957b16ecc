import { AsyncLocalStorage } from 'node:async_hooks';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { FleetFunctionName, FunctionName } from '../deploy/policies.cjs';

/**
 * Environment variables each function's invocations see on top of the process environment: the
 * per-user machine's steps and the fleet's functions.
 */
export type FunctionEnvironment = Partial<Record<FunctionName | FleetFunctionName, Record<string, string>>>;

/**
 * In AWS each function runs in its own container with its own environment and role. Here all
 * handlers share one process (and `functions/commons/aws.ts`'s SDK clients), so each invocation
 * runs inside an AsyncLocalStorage scope holding its function's variables, and `process.env`
 * becomes a view that reads the current scope's variables first. Concurrent invocations of
 * different functions each see their own: the scope follows each invocation's async chain.
 */
interface Runtime {
  scope: AsyncLocalStorage<Readonly<Record<string, string>>>;
  installed: boolean;
  /** What executions give each function unless told otherwise: set by prepareTarget. */
  defaults: FunctionEnvironment;
}
// One per process, even when a test runner loads this module more than once.
const RUNTIME = Symbol.for('iam-key-rotator.local-stack.function-environment');
const runtime = ((globalThis as Record<symbol, Runtime | undefined>)[RUNTIME] ??= {
  scope: new AsyncLocalStorage(),
  installed: false,
  defaults: {},
});
const { scope } = runtime;

/**
 * Environment credentials read through the view carry an expiration in the past (unless one is
 * set), so the SDK's default chain (credential-provider-node's memoizeChain around fromEnv)
 * reads the environment again on every call instead of keeping the first function's keys. That
 * alone is not safe: memoizeChain hands a call that arrives while another call's lookup is
 * pending that other call's result, so two invocations resuming in the same tick could swap
 * keys. Requests therefore get their keys from `bindScopedCredentials` below; the view only
 * serves direct `client.config.credentials()` calls (the Vault aws login signs with those).
 */
const EXPIRED = new Date(0).toISOString();
const EXPIRATION = 'AWS_CREDENTIAL_EXPIRATION';

/**
 * Replaces process.env (once) with a view that reads the current scope's variables first. Call it
 * before any SDK client resolves credentials, or that client keeps what it resolved first.
 */
export function installEnvironmentView(): void {
  if (runtime.installed) return;
  runtime.installed = true;
  hookClientSend();
  const real = process.env;
  const overlay = (): Readonly<Record<string, string>> | undefined => scope.getStore();
  process.env = new Proxy(real, {
    get: (target, key) => {
      const vars = overlay();
      if (typeof key === 'string' && vars && Object.hasOwn(vars, key)) return vars[key];
      const value: unknown = Reflect.get(target, key);
      return key === EXPIRATION && value === undefined ? EXPIRED : value;
    },
    has: (target, key) => {
      const vars = overlay();
      return (
        (typeof key === 'string' && vars !== undefined && Object.hasOwn(vars, key)) ||
        Reflect.has(target, key)
      );
    },
    ownKeys: (target) => {
      const keys = new Set(Reflect.ownKeys(target));
      for (const key of Object.keys(overlay() ?? {})) keys.add(key);
      return [...keys];
    },
    // Writes go to the real environment as plain assignments (its exotic defineProperty refuses
    // the partial descriptor a default set trap would pass on).
    set: (target, key, value) => Reflect.set(target, key, value),
    getOwnPropertyDescriptor: (target, key) => {
      const vars = overlay();
      if (typeof key === 'string' && vars && Object.hasOwn(vars, key)) {
        return { value: vars[key], writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}

type CredentialProvider = ((options?: unknown) => Promise<AwsCredentialIdentity>) & {
  memoized?: boolean;
  configBound?: boolean;
  /** Set by @aws-sdk/core on the provider of credentials the caller supplied. */
  attributed?: boolean;
};
interface SdkClient {
  config: { credentials: CredentialProvider };
}

/** The keys the current scope gives, if it gives any. */
function scopedCredentials(): AwsCredentialIdentity | undefined {
  const vars = scope.getStore();
  const accessKeyId = vars?.AWS_ACCESS_KEY_ID;
  const secretAccessKey = vars?.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = vars.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** Marks a client already given a provider; a registered symbol, so every copy of this module sees it. */
const BOUND = Symbol.for('iam-key-rotator.local-stack.scoped-credentials');

/**
 * Before a client's first request, a client made without explicit credentials (the handlers'
 * shared ones) gets a provider that returns the requesting scope's keys, else what it had. The
 * SDK reads `config.credentials` per request in the request's own async context, and a
 * provider marked `memoized` is used as it is, so nothing is cached or shared across scopes.
 * Clients given credentials (verifyKey signs with the new key) keep them.
 */
function bindScopedCredentials(client: SdkClient): void {
  const marked = client as SdkClient & { [BOUND]?: true };
  if (marked[BOUND]) return;
  marked[BOUND] = true;
  if (client.config.credentials.attributed === true) return;
  const fallback = client.config.credentials;
  const provider: CredentialProvider = async (options) => scopedCredentials() ?? fallback(options);
  provider.memoized = true;
  provider.configBound = true;
  client.config.credentials = provider;
}

function hookClientSend(): void {
  // Every SDK v3 client extends @smithy/core's Client; its prototype is shared by all of them.
  const base = Object.getPrototypeOf(STSClient.prototype) as { send: (...args: unknown[]) => unknown };
  const send = base.send;
  base.send = function (this: SdkClient, ...args: unknown[]) {
    bindScopedCredentials(this);
    return send.apply(this, args);
  };
}

/**
 * The functions' variables for executions that name none, like the process environment that
 * prepareTarget points the handlers with (so every path to runExecution, the local Step
 * Functions endpoint's included, runs each function as its own role).
 */
export function setDefaultFunctionEnvironment(environment: FunctionEnvironment): void {
  runtime.defaults = environment;
}

export const defaultFunctionEnvironment = (): FunctionEnvironment => runtime.defaults;

/** Runs `fn` with `variables` on top of the process environment, for it and everything it awaits. */
export function withFunctionEnvironment<T>(variables: Record<string, string>, fn: () => T): T {
  installEnvironmentView();
  const vars: Record<string, string> = { ...variables };
  // Long-term keys (an IAM user's) must not pick up the process's session token.
  if (vars.AWS_ACCESS_KEY_ID !== undefined) vars.AWS_SESSION_TOKEN ??= '';
  return scope.run(Object.freeze(vars), fn);
}
