import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/** One request as it goes on the wire: `path` is relative to /v1/. */
export interface WireRequest {
  method: Method;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A response as it came off the wire. */
export interface WireResponse {
  status: number;
  body: string;
}

/** Vault's API over node:http(s): no token here, no redirects, no automatic retries. */
export interface VaultHttp {
  /** The address followed by /v1/. */
  baseUrl: string;
  timeoutMs: number;
  /** Sent with every request (the namespace). */
  headers: Record<string, string>;
  agent: HttpAgent | HttpsAgent;
  /** Sends one request and reads the whole response; rejects with the Node error on failure. */
  transport(request: WireRequest): Promise<WireResponse>;
}

/** A response whose status the caller does not accept. */
export class VaultHttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly data: unknown,
  ) {
    super(`Vault answered HTTP ${status}`);
  }
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
  const response = error instanceof VaultHttpStatusError ? error : undefined;
  const summary: VaultRequestSummary = {
    method,
    path,
    status: response?.status ?? 0,
    errors: vaultErrors(response?.data),
  };
  // A certificate Node refuses will be refused again: permanent, unlike a network failure.
  const nodeCode = (error as { code?: unknown } | undefined)?.code;
  const code = !response && typeof nodeCode === 'string' ? nodeCode : '';
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

/** Vault's HTTP API for the configuration and TLS material: keep-alive, the namespace header. */
export function createHttp(vault: VaultConfig, tls: TlsMaterial = {}): VaultHttp {
  const secure = vault.addr.startsWith('https:');
  const agent = secure
    ? new HttpsAgent({
        keepAlive: true,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
        rejectUnauthorized: !vault.tls.skipVerify,
      })
    : new HttpAgent({ keepAlive: true });
  const baseUrl = `${vault.addr.replace(/\/+$/, '')}/v1/`;
  const timeoutMs = vault.timeoutMs;
  return {
    baseUrl,
    timeoutMs,
    headers: vault.namespace ? { 'X-Vault-Namespace': vault.namespace } : {},
    agent,
    transport: (request) =>
      exchange(secure, agent, new URL(request.path.replace(/^\/+/, ''), baseUrl), timeoutMs, request),
  };
}

/** The most of a response body read into memory. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** One request over node:http(s), the whole exchange bounded by the timeout and its size. Follows no redirect. */
function exchange(
  secure: boolean,
  agent: HttpAgent | HttpsAgent,
  url: URL,
  timeoutMs: number,
  { method, headers, body }: WireRequest,
): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(url, { method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // A key's secret is a few hundred bytes: a body this large is a proxy's or a fault, not Vault's.
        if (bytes > MAX_RESPONSE_BYTES) {
          request.destroy(
            Object.assign(new Error(`response over ${MAX_RESPONSE_BYTES} bytes`), {
              code: 'ERESPONSETOOLARGE',
            }),
          );
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    const timer = setTimeout(() => {
      request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end(body);
  });
}

/** A body as JSON when it is JSON, else the text (a proxy's HTML page, say). */
function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Sends one request; 404 resolves (callers decide what absence means), other failures throw mapped. */
export async function send<T>(
  http: VaultHttp,
  method: Method,
  path: string,
  options: { token?: string; data?: unknown } = {},
): Promise<{ status: number; data: VaultEnvelope<T> | undefined }> {
  try {
    const headers: Record<string, string> = { Accept: 'application/json', ...http.headers };
    if (options.token) headers['X-Vault-Token'] = options.token;
    let body: string | undefined;
    if (options.data !== undefined) {
      body = JSON.stringify(options.data);
      headers['Content-Type'] = 'application/json';
    }
    const response = await http.transport({ method, path, headers, ...(body === undefined ? {} : { body }) });
    const data = parseBody(response.body);
    if ((response.status >= 200 && response.status < 300) || response.status === 404) {
      return { status: response.status, data: data as VaultEnvelope<T> | undefined };
    }
    throw new VaultHttpStatusError(response.status, data);
  } catch (error) {
    throw vaultFailure(method, path, error);
  }
}
