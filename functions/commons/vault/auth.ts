import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AxiosInstance } from 'axios';
import { aws, awsFailure, clientConfig } from '../aws.js';
import type { Config, TokenSource } from '../config.js';
import { VaultAuthError, VaultRequestError, VaultUnavailableError } from './errors.js';
import { send } from './http.js';

/** A Vault token and when to stop using it. */
export interface Lease {
  token: string;
  /** Epoch ms after which the token is re-acquired; renewing early keeps a warm container's token valid. */
  refreshAt: number;
  /** True when the token came from a login, so a 403 may mean it expired and a new login can help. */
  fromLogin: boolean;
}

const STATIC_TOKEN_CACHE_MS = 5 * 60_000;
const GET_CALLER_IDENTITY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** Obtains a token with the configured auth method. */
export async function acquireToken(http: AxiosInstance, auth: Config['vault']['auth']): Promise<Lease> {
  if (auth.method === 'token') {
    return {
      token: await readToken(auth.source),
      refreshAt: Date.now() + STATIC_TOKEN_CACHE_MS,
      fromLogin: false,
    };
  }
  const payload = await signedCallerIdentity(auth);
  return login(http, `auth/${auth.mount}/login`, { role: auth.role, ...payload });
}

async function login(http: AxiosInstance, path: string, body: unknown): Promise<Lease> {
  let response;
  try {
    response = await send<never>(http, 'POST', path, { data: body });
  } catch (error) {
    if (error instanceof VaultUnavailableError) throw error;
    const reason = error instanceof VaultRequestError ? error.message : 'unexpected error';
    throw new VaultAuthError(`Vault login at ${path} was refused: ${reason}`);
  }
  const auth = response.data?.auth;
  if (!auth?.client_token) throw new VaultAuthError(`Vault login at ${path} returned no token`);
  // Re-acquire at two thirds of the lease so a token never expires in the middle of a step.
  const ttlMs = auth.lease_duration > 0 ? (auth.lease_duration * 1000 * 2) / 3 : Number.POSITIVE_INFINITY;
  return { token: auth.client_token, refreshAt: Date.now() + ttlMs, fromLogin: true };
}

/** The body of an aws-auth login: a GetCallerIdentity request signed with the function's credentials. */
async function signedCallerIdentity(auth: Extract<Config['vault']['auth'], { method: 'aws' }>) {
  const url = new URL(auth.stsEndpoint);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: url.host,
  };
  if (auth.serverId) headers['x-vault-aws-iam-server-id'] = auth.serverId;
  let credentials;
  try {
    credentials = await aws().sts.config.credentials();
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

/** Reads a token from its store; Secrets Manager values may be the token or JSON with a `token` field. */
async function readToken(source: TokenSource): Promise<string> {
  switch (source.kind) {
    case 'env':
      return source.token;
    case 'secrets-manager': {
      const out = await call('secretsmanager:GetSecretValue', () =>
        new SecretsManagerClient(clientConfig()).send(
          new GetSecretValueCommand({ SecretId: source.secretId }),
        ),
      );
      return tokenFrom(out.SecretString, `secret ${source.secretId}`);
    }
    case 'ssm': {
      const out = await call('ssm:GetParameter', () =>
        new SSMClient(clientConfig()).send(
          new GetParameterCommand({ Name: source.parameter, WithDecryption: true }),
        ),
      );
      return tokenFrom(out.Parameter?.Value, `parameter ${source.parameter}`);
    }
  }
}

async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw awsFailure(action, error);
  }
}

function tokenFrom(value: string | undefined, where: string): string {
  const raw = value?.trim() ?? '';
  if (raw.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      const token = (parsed as { token?: unknown }).token;
      if (typeof token === 'string' && token.length > 0) return token;
    } catch {
      // Falls through to the error below: the value is neither a token nor JSON with one.
    }
  } else if (raw.length > 0) {
    return raw;
  }
  throw new VaultAuthError(`${where} holds no Vault token (expected the token or JSON {"token": "..."})`);
}
