import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { VaultEmulatorError } from './errors.js';

/** Why forwarding the signed GetCallerIdentity failed; the message is what Vault puts after "error making upstream request: ". */
export class StsUpstreamError extends VaultEmulatorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StsUpstreamError';
  }
}

export interface SignedStsRequest {
  method: string;
  url: URL;
  body: string;
  headers: Record<string, string[]>;
}

export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

const STS_TIMEOUT_MS = 10_000;

function post(endpoint: URL, signed: SignedStsRequest): Promise<{ status: number; body: string }> {
  const send = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string[] | string> = {};
  for (const [name, values] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'content-length') headers[name] = values;
  }
  // Vault keeps the client's Host, which the signature covers, while dialling its configured endpoint.
  headers['Host'] = signed.url.host;
  headers['Content-Length'] = String(Buffer.byteLength(signed.body));
  const base = endpoint.pathname.replace(/\/$/, '');
  return new Promise((resolve, reject) => {
    const req = send(
      endpoint,
      { method: signed.method, path: `${base}${signed.url.pathname}${signed.url.search}`, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(STS_TIMEOUT_MS, () => req.destroy(new Error('timeout awaiting response headers')));
    req.on('error', reject);
    req.end(signed.body);
  });
}

const parser = new XMLParser({ parseTagValue: false });

const GetCallerIdentityXml = z.object({
  GetCallerIdentityResponse: z.object({
    GetCallerIdentityResult: z.object({
      Arn: z.string(),
      UserId: z.string().default(''),
      Account: z.string().default(''),
    }),
  }),
});

function parseIdentity(xml: string): CallerIdentity {
  const parsed = GetCallerIdentityXml.safeParse(parser.parse(xml));
  if (!parsed.success) throw new StsUpstreamError('error parsing STS response');
  const { Arn, UserId, Account } = parsed.data.GetCallerIdentityResponse.GetCallerIdentityResult;
  return { arn: Arn, userId: UserId, account: Account };
}

/** Vault's submitCallerIdentityRequest: forward the client's signed request and read who signed it. */
export async function getCallerIdentity(endpoint: string, signed: SignedStsRequest): Promise<CallerIdentity> {
  let response: { status: number; body: string };
  try {
    response = await post(new URL(endpoint), signed);
  } catch (error) {
    throw new StsUpstreamError(
      `error making request: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  if (response.status !== 200) {
    throw new StsUpstreamError(`received error code ${response.status} from STS: ${response.body}`);
  }
  return parseIdentity(response.body);
}
