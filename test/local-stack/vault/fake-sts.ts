import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the fake STS answers next: the caller's ARN, or an error status with AWS's XML error. */
export type StsAnswer = { arn: string; userId: string } | { status: number; code: string };

export interface FakeSts {
  endpoint: string;
  received: ReceivedRequest[];
  answer: StsAnswer;
  close: () => Promise<void>;
}

const identityXml = (
  arn: string,
  userId: string,
): string => `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>${arn}</Arn>
    <UserId>${userId}</UserId>
    <Account>${arn.split(':')[4] ?? ''}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`;

export const errorXml = (code: string): string =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>rejected</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`;

/** A stand-in for STS that records what Vault forwarded and answers GetCallerIdentity. */
export async function startFakeSts(): Promise<FakeSts> {
  const received: ReceivedRequest[] = [];
  const sts: FakeSts = {
    endpoint: '',
    received,
    answer: { status: 500, code: 'NotConfigured' },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const answer = sts.answer;
      res.writeHead('arn' in answer ? 200 : answer.status, { 'Content-Type': 'text/xml' });
      res.end('arn' in answer ? identityXml(answer.arn, answer.userId) : errorXml(answer.code));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  sts.endpoint = `http://127.0.0.1:${port}`;
  sts.close = () => new Promise((resolve) => server.close(() => resolve()));
  return sts;
}

export const CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** Signs a GetCallerIdentity the way Vault clients do and encodes it as an auth/aws/login body. */
export async function awsLoginBody(options: {
  role: string;
  serverId?: string;
  signServerId?: boolean;
  body?: string;
}): Promise<Record<string, string>> {
  const body = options.body ?? CALLER_IDENTITY_BODY;
  const headers: Record<string, string> = {
    host: 'sts.amazonaws.com',
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  const signServerId = options.signServerId ?? true;
  if (options.serverId && signServerId) headers['x-vault-aws-iam-server-id'] = options.serverId;
  const signer = new SignatureV4({
    service: 'sts',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname: 'sts.amazonaws.com',
    path: '/',
    headers,
    body,
  });
  const sent: Record<string, string[]> = Object.fromEntries(
    Object.entries(signed.headers).map(([k, v]) => [k, [v]]),
  );
  if (options.serverId && !signServerId) sent['X-Vault-AWS-IAM-Server-ID'] = [options.serverId];
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return {
    role: options.role,
    iam_http_request_method: 'POST',
    iam_request_url: b64('https://sts.amazonaws.com/'),
    iam_request_body: b64(body),
    iam_request_headers: b64(JSON.stringify(sent)),
  };
}
