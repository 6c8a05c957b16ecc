import { z } from 'zod';
import { badRequest } from './errors.js';
import { isRecord, stringField } from './routes.js';
import type { SignedStsRequest } from './sts.js';

export const IAM_SERVER_ID_HEADER = 'X-Vault-AWS-IAM-Server-ID';

// builtin/credential/aws/backend.go defaultAllowedSTSRequestHeaders.
const ALLOWED_AMZ_HEADERS = [
  'X-Amz-Algorithm',
  'X-Amz-Content-Sha256',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
  'X-Amz-User-Agent',
];

const HeaderMap = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

/** Go's textproto.CanonicalMIMEHeaderKey, which Vault applies to every login header name. */
const canonical = (name: string): string =>
  name
    .toLowerCase()
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('-');

function decodeBase64(value: string, field: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw badRequest(`failed to base64 decode ${field}`);
  }
  return Buffer.from(value, 'base64').toString('utf8');
}

/** Vault's TypeHeader: a JSON object, or a (base64-encoded) JSON string of one. */
function parseHeaders(raw: unknown): Record<string, string[]> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const text = raw.trim().startsWith('{') ? raw : Buffer.from(raw, 'base64').toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
  }
  const parsed = HeaderMap.safeParse(value);
  if (!parsed.success) {
    throw badRequest('error converting input for field "iam_request_headers": invalid header map');
  }
  const headers: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(parsed.data)) {
    headers[canonical(name)] = [
      ...(headers[canonical(name)] ?? []),
      ...(Array.isArray(values) ? values : [values]),
    ];
  }
  return headers;
}

/** Vault's pathLoginUpdateIam input checks, in Vault's order and with its messages. */
export function parseLoginRequest(body: Record<string, unknown>): SignedStsRequest {
  const method = stringField(body, 'iam_http_request_method');
  if (method === '') throw badRequest('missing iam_http_request_method');
  if (method !== 'POST')
    throw badRequest("invalid iam_http_request_method; currently only 'POST' is supported");
  const rawUrl = stringField(body, 'iam_request_url');
  if (rawUrl === '') throw badRequest('missing iam_request_url');
  let url: URL;
  try {
    url = new URL(decodeBase64(rawUrl, 'iam_request_url'));
  } catch (error) {
    if (error instanceof TypeError) throw badRequest('error parsing iam_request_url');
    throw error;
  }
  const rawBody = stringField(body, 'iam_request_body');
  if (rawBody === '') throw badRequest('missing iam_request_body');
  const requestBody = decodeBase64(rawBody, 'iam_request_body');
  validateCallerIdentityBody(requestBody);
  const rawHeaders = body['iam_request_headers'];
  if (
    rawHeaders === undefined ||
    rawHeaders === '' ||
    (isRecord(rawHeaders) && Object.keys(rawHeaders).length === 0)
  ) {
    throw badRequest('missing iam_request_headers');
  }
  return { method, url, body: requestBody, headers: parseHeaders(rawHeaders) };
}

/** Only `Action=GetCallerIdentity` (and a Version) may be forwarded, so Vault is not an open STS proxy. */
function validateCallerIdentityBody(body: string): void {
  const params = new URLSearchParams(body);
  for (const key of new Set(params.keys())) {
    if (key === 'Action') {
      const actions = params.getAll('Action');
      if (actions.length !== 1 || actions[0] !== 'GetCallerIdentity') {
        throw badRequest("iam_request_body must have 'Action=GetCallerIdentity'");
      }
    } else if (key !== 'Version') {
      throw badRequest('iam_request_body contains unexpected values');
    }
  }
}

/** Vault's validateVaultHeaderValue: present, equal, and covered by the SigV4 signature. */
export function serverIdHeaderProblem(
  headers: Record<string, string[]>,
  required: string,
): string | undefined {
  const provided = (headers[canonical(IAM_SERVER_ID_HEADER)] ?? []).join(',');
  if (provided === '') return `missing header "${IAM_SERVER_ID_HEADER}"`;
  if (provided !== required) return `expected "${required}" but got "${provided}"`;
  const authorization = headers['Authorization'];
  if (!authorization) return 'missing Authorization header';
  const signed = /.*SignedHeaders=([^,]+)/.exec(authorization.join(','))?.[1];
  if (!signed?.split(';').includes(IAM_SERVER_ID_HEADER.toLowerCase())) return "vault header wasn't signed";
  return undefined;
}

export function disallowedAmzHeader(headers: Record<string, string[]>): string | undefined {
  return Object.keys(headers).find(
    (name) => name.startsWith('X-Amz-') && !ALLOWED_AMZ_HEADERS.includes(name),
  );
}
