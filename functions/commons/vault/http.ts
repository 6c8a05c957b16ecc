import axios, { type AxiosInstance, type AxiosResponse, isAxiosError } from 'axios';
import { Agent } from 'node:https';
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

const TOKENISH = /\b(hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{8,}/g;
const CAS_MISMATCH = /check-and-set parameter did not match/;

/** Vault's error strings with anything token-like masked. */
function vaultErrors(body: unknown): string[] {
  const errors = (body as VaultEnvelope<unknown> | undefined)?.errors;
  return Array.isArray(errors)
    ? errors.map((e) => String(e).replace(TOKENISH, '[REDACTED]').slice(0, 300))
    : [];
}

/** Maps a failed call to the error the state machine routes on: transient, permanent or conflict. */
export function vaultFailure(method: Method, path: string, error: unknown): Error {
  const response = isAxiosError(error) ? error.response : undefined;
  const summary: VaultRequestSummary = {
    method,
    path,
    status: response?.status ?? 0,
    errors: vaultErrors(response?.data),
  };
  // A certificate Node refuses will be refused again: permanent, unlike a network failure.
  const code = isAxiosError(error) ? (error.code ?? '') : '';
  if (!response && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return new VaultRequestError({ ...summary, errors: [`TLS: ${code}`] });
  }
  // 307 comes from a standby node, which forwards nothing without a redirect: another node will answer.
  // No response: keep the Node error code (ECONNRESET, ECONNREFUSED, ETIMEDOUT...), it says what happened.
  if (!response)
    return new VaultUnavailableError(/^E[A-Z_]+$/.test(code) ? { ...summary, errors: [code] } : summary);
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

/** An axios instance for Vault's API: no token here, redaction-safe errors, no automatic retries. */
export function createHttp(vault: VaultConfig, tls: TlsMaterial = {}): AxiosInstance {
  return axios.create({
    baseURL: `${vault.addr}/v1/`,
    timeout: vault.timeoutMs,
    headers: vault.namespace ? { 'X-Vault-Namespace': vault.namespace } : {},
    httpsAgent: new Agent({
      keepAlive: true,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      rejectUnauthorized: !vault.tls.skipVerify,
    }),
    // Redirects would carry the token to another host.
    maxRedirects: 0,
    transitional: { clarifyTimeoutError: true },
  });
}

/** Sends one request; 404 resolves (callers decide what absence means), other failures throw mapped. */
export async function send<T>(
  http: AxiosInstance,
  method: Method,
  path: string,
  options: { token?: string; data?: unknown } = {},
): Promise<AxiosResponse<VaultEnvelope<T> | undefined>> {
  try {
    return await http.request<VaultEnvelope<T> | undefined>({
      method,
      url: path,
      data: options.data,
      headers: options.token ? { 'X-Vault-Token': options.token } : {},
      validateStatus: (status) => (status >= 200 && status < 300) || status === 404,
    });
  } catch (error) {
    throw vaultFailure(method, path, error);
  }
}
