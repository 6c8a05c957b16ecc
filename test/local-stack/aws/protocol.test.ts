import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { useEmulator } from './helpers.js';

const emulator = useEmulator();

/** Signs and sends a request the way a non-SDK client would, to reach protocol corners the SDK never uses. */
async function signedFetch(
  service: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  const url = new URL(path, emulator().endpoint);
  const signer = new SignatureV4({
    credentials: emulator().adminCredentials,
    region: emulator().region,
    service,
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, ...headers },
    body,
  });
  const response = await fetch(url, { method, headers: signed.headers, body });
  return { status: response.status, text: await response.text() };
}

describe('wire protocols', () => {
  it('serves the classic query protocol as a signed GET with parameters in the URL', async () => {
    const { status, text } = await signedFetch(
      'sts',
      'GET',
      '/?Action=GetCallerIdentity&Version=2011-06-15',
      {},
    );
    expect(status).toBe(200);
    expect(text).toMatch(
      /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/,
    );
    expect(text).toContain('<Arn>arn:aws:iam::123456789012:user/local-admin</Arn>');
    expect(text).toMatch(/<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata>/);
  });

  it('answers InvalidAction for an action the emulator does not serve', async () => {
    const { status, text } = await signedFetch(
      'iam',
      'POST',
      '/',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'Action=ListRoles&Version=2010-05-08',
    );
    expect(status).toBe(400);
    expect(text).toContain('<Type>Sender</Type><Code>InvalidAction</Code>');
  });

  it('answers KMS errors as JSON with __type', async () => {
    const { status, text } = await signedFetch(
      'kms',
      'POST',
      '/',
      { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ScheduleKeyDeletion' },
      '{}',
    );
    expect(status).toBe(400);
    expect(JSON.parse(text)).toEqual({ __type: 'UnknownOperationException' });
  });

  it('routes Secrets Manager and SSM by X-Amz-Target and answers their errors as JSON', async () => {
    const json = { 'content-type': 'application/x-amz-json-1.1' };
    const unknown = await signedFetch(
      'secretsmanager',
      'POST',
      '/',
      { ...json, 'x-amz-target': 'secretsmanager.RotateSecret' },
      '{}',
    );
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.text)).toEqual({ __type: 'UnknownOperationException' });

    const missing = await signedFetch(
      'ssm',
      'POST',
      '/',
      { ...json, 'x-amz-target': 'AmazonSSM.GetParameter' },
      '{"Name":"/missing"}',
    );
    expect(missing.status).toBe(400);
    // SSM sends ParameterNotFound without a message.
    expect(JSON.parse(missing.text)).toEqual({ __type: 'ParameterNotFound' });

    const scoped = await signedFetch(
      'kms',
      'POST',
      '/',
      { ...json, 'x-amz-target': 'secretsmanager.GetSecretValue' },
      '{"SecretId":"x"}',
    );
    expect(scoped.status).toBe(400);
    expect(JSON.parse(scoped.text)).toMatchObject({ __type: 'InvalidSignatureException' });
  });

  it('rejects a body that was changed after signing', async () => {
    const url = new URL('/', emulator().endpoint);
    const signer = new SignatureV4({
      credentials: emulator().adminCredentials,
      region: 'us-east-1',
      service: 'sts',
      sha256: Sha256,
    });
    const headers = { host: url.host, 'content-type': 'application/x-www-form-urlencoded' };
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      path: '/',
      headers,
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: signed.headers,
      body: 'Action=GetCallerIdentity&Version=2011-06-15&Extra=1',
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
