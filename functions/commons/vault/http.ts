import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { VaultConfig } from './config.js';
import {
  VaultCasConflictError,
  VaultPermissionDeniedError,
  VaultRequestError,
  type VaultRequestSummary,
  VaultUnavailableError,
} from './errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Vault's response envelope, as far as the rotator reads it. */
export interface VaultEnvelope<T> {
  data?: T;
  auth?: { client_token: string; lease_duration: number; renewable: boolean; policies?: string[] };
  errors?: string[];
}

/** Vault's API for one configuration: an axios instance that holds no token and follows no redirect. */
export type VaultHttp = AxiosInstance;

/** A response whose status the caller does not accept. */
export class VaultHttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly data: unknown,
    /** The Location header of a redirect. */
    readonly location?: string,
  ) {
    super(`Vault answered HTTP ${status}`);
  }
}

const TOKENISH = /\b(hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{8,}/g;
const CAS_MISMATCH = /check-and-set parameter did not match/;

/** The most of a body held in memory, either way. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The most of Vault's error strings kept: Vault sends one or two, a hostile server thousands. */
const MAX_ERRORS = 5;

/**
 * Vault's error strings with anything token-like masked and control characters (a terminal's escape
 * sequences, line breaks) made spaces: they reach people through logs and consumers' messages.
 */
function vaultErrors(body: unknown): string[] {
  const errors = (body as VaultEnvelope<unknown> | undefined)?.errors;
  return Array.isArray(errors)
    ? errors.slice(0, MAX_ERRORS).map((e) =>
        String(e)
          .replace(/\p{Cc}+/gu, ' ')
          .replace(TOKENISH, '[REDACTED]')
          .slice(0, 300),
      )
    : [];
}

/** What to tell the operator about a redirect that was not followed. */
function redirectAdvice(location: string | undefined): string {
  let to = '';
  try {
    // The origin only: the path and query are the request's own, or unknown.
    if (location) to = ` to ${new URL(location).origin}`;
  } catch {
    // A Location that is no absolute URL names no other host.
  }
  return (
    `redirect${to} not followed (the token goes to VAULT_ADDR only): a standby node redirects to the ` +
    'active one; point VAULT_ADDR at the active node or a load balancer in front of the cluster'
  );
}

/**
 * A failure without a usable response, as a Node error code. axios reports its own bounds with
 * generic codes; these get the codes the rotator has always logged for them.
 */
function wireCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return '';
  if (!isAxiosError(error)) return code;
  // The whole-exchange deadline (createHttp's interceptor) is the only cancellation.
  if (code === 'ERR_CANCELED') return 'ETIMEDOUT';
  if (/maxContentLength/.test(error.message)) return 'ERESPONSETOOLARGE';
  if (/maxBodyLength/.test(error.message)) return 'EREQUESTTOOLARGE';
  // The headers arrived, then the connection closed in the middle of the body.
  if (error.response && code === 'ERR_BAD_RESPONSE') return 'ECONNRESET';
  return code;
}

/** Maps a failed call to the error the state machine routes on: transient, permanent or conflict. */
export function vaultFailure(method: Method, path: string, error: unknown): Error {
  const response = error instanceof VaultHttpStatusError ? error : undefined;
  const summary: VaultRequestSummary = {
    method,
    path,
    status: response?.status ?? 0,
    errors: vaultErrors(response?.data),
  };
  if (!response) {
    const code = wireCode(error);
    // A certificate Node refuses will be refused again: permanent, unlike a network failure.
    if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
      return new VaultRequestError({ ...summary, errors: [`TLS: ${code}`] });
    }
    // A request the client refuses to send (over maxBodyLength) will be refused again.
    if (code === 'EREQUESTTOOLARGE' || code === 'ERR_BAD_REQUEST') {
      return new VaultRequestError({ ...summary, errors: [code] });
    }
    // Keep the Node error code (ECONNRESET, ECONNREFUSED, ETIMEDOUT...): it says what happened.
    return new VaultUnavailableError(/^E[A-Z_]+$/.test(code) ? { ...summary, errors: [code] } : summary);
  }
  if (summary.status >= 300 && summary.status < 400) {
    summary.errors.push(redirectAdvice(response.location));
  }
  // 307 comes from a standby node that could not forward: behind a load balancer, a retry reaches another.
  if (summary.status >= 500 || [307, 412, 429].includes(summary.status)) {
    return new VaultUnavailableError(summary);
  }
  if (summary.status === 403) return new VaultPermissionDeniedError(summary);
  if (summary.errors.some((e) => CAS_MISMATCH.test(e))) return new VaultCasConflictError(summary);
  return new VaultRequestError(summary);
}

/** PEM material for the TLS connection to Vault, resolved from its sources. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The axios instance for a Vault configuration and its TLS material: keep-alive, bounds, the namespace. */
export function createHttp(vault: VaultConfig, tls: TlsMaterial = {}): VaultHttp {
  const agent = vault.addr.startsWith('https:')
    ? {
        httpsAgent: new HttpsAgent({
          keepAlive: true,
          ...(tls.ca ? { ca: tls.ca } : {}),
          ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
          rejectUnauthorized: !vault.tls.skipVerify,
        }),
      }
    : { httpAgent: new HttpAgent({ keepAlive: true }) };
  const http = axios.create({
    // Node's http(s) only: the fetch and XHR adapters know nothing of the agent and its CA.
    adapter: 'http',
    baseURL: `${vault.addr.replace(/\/+$/, '')}/v1/`,
    // A path is always below /v1/ of VAULT_ADDR, never a URL of its own.
    allowAbsoluteUrls: false,
    headers: {
      Accept: 'application/json',
      ...(vault.namespace ? { 'X-Vault-Namespace': vault.namespace } : {}),
    },
    ...agent,
    // Connecting, and each silence while the answer comes; the interceptor below bounds the whole exchange.
    timeout: vault.timeoutMs,
    transitional: { clarifyTimeoutError: true },
    // A redirect would carry X-Vault-Token to the host it names; a standby's 307 becomes a named
    // VaultUnavailableError that tells the operator to point VAULT_ADDR at the active node.
    maxRedirects: 0,
    // VAULT_ADDR is reached directly: HTTP(S)_PROXY in the environment would see the token.
    proxy: false,
    // A key's secret is a few hundred bytes: a body this large is a proxy's or a fault, not Vault's.
    maxContentLength: MAX_RESPONSE_BYTES,
    maxBodyLength: MAX_RESPONSE_BYTES,
    // Every status resolves: send tells what a status means, from Vault's body.
    validateStatus: () => true,
  });
  // A body trickling in resets axios's timeout with every byte; this deadline does not move.
  http.interceptors.request.use((config) => {
    config.signal ??= AbortSignal.timeout(vault.timeoutMs);
    return config;
  });
  return http;
}

/** Sends one request; 404 resolves (callers decide what absence means), other failures throw mapped. */
export async function send<T>(
  http: VaultHttp,
  method: Method,
  path: string,
  options: { token?: string; data?: unknown } = {},
): Promise<{ status: number; data: VaultEnvelope<T> | undefined }> {
  try {
    const response = await http.request<unknown>({
      method,
      url: path,
      ...(options.token ? { headers: { 'X-Vault-Token': options.token } } : {}),
      ...(options.data === undefined ? {} : { data: options.data }),
    });
    // axios gives JSON parsed, any other body as text, and no body as ''.
    const data = response.data === '' ? undefined : response.data;
    if ((response.status >= 200 && response.status < 300) || response.status === 404) {
      return { status: response.status, data: data as VaultEnvelope<T> | undefined };
    }
    const location = response.headers.location as unknown;
    throw new VaultHttpStatusError(
      response.status,
      data,
      typeof location === 'string' ? location : undefined,
    );
  } catch (error) {
    throw vaultFailure(method, path, error);
  }
}
