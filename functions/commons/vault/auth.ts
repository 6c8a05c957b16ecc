import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { awsFailure } from '../aws.js';
import { describeSource, plainOrJson } from '../secret-source.js';
import type { SecretReader, VaultAuth } from './config.js';
import {
  VaultAppRoleLoginError,
  VaultAwsLoginError,
  type VaultAuthError,
  VaultLoginUpstreamError,
  VaultRequestError,
  VaultTokenSourceError,
  VaultUnavailableError,
} from './errors.js';
import { send, type VaultHttp } from './http.js';

/** A Vault token and when to stop using it. */
export interface Lease {
  token: string;
  /** Epoch ms after which the token is re-acquired, so a warm container never uses an expired one. */
  refreshAt: number;
  /** True when the token came from a login, so a 403 may mean it expired and a new login can help. */
  fromLogin: boolean;
}

const STATIC_TOKEN_CACHE_MS = 5 * 60_000;
const GET_CALLER_IDENTITY = 'Action=GetCallerIdentity&Version=2011-06-15';

/**
 * Vault's words when STS behind it failed the forwarded request. Throttling, 5xx and a not yet
 * propagated identity (InvalidClientTokenId) pass; a wrong region or endpoint in the signature
 * (SignatureDoesNotMatch) or AccessDenied do not, so those stay permanent.
 */
function isPassingStsFailure(error: string): boolean {
  const upstream = /^error making upstream request: received error code (\d{3}) from STS/.exec(error);
  if (!upstream) return false;
  const status = Number(upstream[1]);
  return status >= 500 || status === 429 || /Throttling|InvalidClientTokenId/.test(error);
}

/** Obtains a token with the configured auth method. */
export async function acquireToken(
  http: VaultHttp,
  auth: VaultAuth,
  readSecret: SecretReader,
): Promise<Lease> {
  switch (auth.method) {
    case 'token': {
      const token = plainOrJson(await readSecret(auth.token), 'token');
      if (!token) {
        throw new VaultTokenSourceError(
          `${describeSource(auth.token)} holds no Vault token (expected the token or JSON {"token": "..."})`,
        );
      }
      return { token, refreshAt: Date.now() + STATIC_TOKEN_CACHE_MS, fromLogin: false };
    }
    case 'approle': {
      const secretId = plainOrJson(await readSecret(auth.secretId), 'secret_id');
      if (!secretId) {
        throw new VaultAppRoleLoginError(
          `${describeSource(auth.secretId)} holds no AppRole secret_id (expected it or JSON {"secret_id": "..."})`,
        );
      }
      return login(
        http,
        `auth/${auth.mount}/login`,
        { role_id: auth.roleId, secret_id: secretId },
        (m) => new VaultAppRoleLoginError(m),
      );
    }
    case 'aws':
      return login(
        http,
        `auth/${auth.mount}/login`,
        { role: auth.role, ...(await signedCallerIdentity(auth)) },
        (m) => new VaultAwsLoginError(m),
      );
  }
}

async function login(
  http: VaultHttp,
  path: string,
  body: unknown,
  refused: (message: string) => VaultAuthError,
): Promise<Lease> {
  let response;
  try {
    response = await send<never>(http, 'POST', path, { data: body });
  } catch (error) {
    if (error instanceof VaultUnavailableError) throw error;
    // Vault's words when STS behind it refused or failed the forwarded request.
    if (error instanceof VaultRequestError && error.request.errors.some(isPassingStsFailure)) {
      throw new VaultLoginUpstreamError(`Vault login at ${path} failed upstream: ${error.message}`);
    }
    throw refused(
      `Vault login at ${path} was refused: ${error instanceof VaultRequestError ? error.message : 'unexpected error'}`,
    );
  }
  const auth = response.data?.auth;
  if (!auth?.client_token) throw refused(`Vault login at ${path} returned no token`);
  // Re-acquire at two thirds of the lease so a token never expires in the middle of a step.
  const ttlMs = auth.lease_duration > 0 ? (auth.lease_duration * 1000 * 2) / 3 : Number.POSITIVE_INFINITY;
  return { token: auth.client_token, refreshAt: Date.now() + ttlMs, fromLogin: true };
}

/** The body of an aws-auth login: a GetCallerIdentity request signed with the function's credentials. */
async function signedCallerIdentity(auth: Extract<VaultAuth, { method: 'aws' }>) {
  const url = new URL(auth.stsEndpoint);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: url.host,
  };
  if (auth.serverId) headers['x-vault-aws-iam-server-id'] = auth.serverId;
  let credentials;
  try {
    // The chain every SDK client of the function uses, read afresh for each login.
    credentials = await defaultProvider()();
  } catch (error) {
    throw awsFailure('credentials', error);
  }
  const signer = new SignatureV4({ credentials, region: auth.stsRegion, service: 'sts', sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers,
    body: GET_CALLER_IDENTITY,
  });
  const asList = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, [v]]));
  return {
    iam_http_request_method: 'POST',
    iam_request_url: Buffer.from(url.toString()).toString('base64'),
    iam_request_body: Buffer.from(GET_CALLER_IDENTITY).toString('base64'),
    iam_request_headers: Buffer.from(JSON.stringify(asList)).toString('base64'),
  };
}
