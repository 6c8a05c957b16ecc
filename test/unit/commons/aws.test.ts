import { NoSuchEntityException, ServiceFailureException } from '@aws-sdk/client-iam';
import { KMSInternalException, NotFoundException } from '@aws-sdk/client-kms';
import { createServer, type AddressInfo } from 'node:net';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AwsRequestError,
  AwsUnavailableError,
  KeyVerificationError,
} from '../../../functions/commons/errors.js';
import type * as AwsModule from '../../../functions/commons/aws.js';
import { sdkError, setAwsAuthEnv } from '../support.js';

let mod: typeof AwsModule;

beforeAll(async () => {
  setAwsAuthEnv({ ROTATOR_AWS_TIMEOUT_MS: '7000' });
  mod = await import('../../../functions/commons/aws.js');
});

describe('errorCode', () => {
  it('prefers the wire Code of a modelled IAM exception over its class name', () => {
    const error = Object.assign(
      new NoSuchEntityException({
        message: 'The user with name x cannot be found.',
        $metadata: { httpStatusCode: 404 },
      }),
      { Code: 'NoSuchEntity' },
    );
    expect(error.name).toBe('NoSuchEntityException');
    expect(mod.errorCode(error)).toBe('NoSuchEntity');
  });

  it('falls back to the name when there is no Code', () => {
    const error = new NotFoundException({ message: 'no such key', $metadata: { httpStatusCode: 400 } });
    expect(mod.errorCode(error)).toBe('NotFoundException');
    expect(mod.errorCode(sdkError('Throttling', 400))).toBe('Throttling');
  });

  it('uses the Node error code of a network error', () => {
    expect(mod.errorCode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'ECONNREFUSED',
    );
  });

  it.each([undefined, null, 'a string', new Error('plain')])('answers UnknownError for %j', (value) => {
    expect(mod.errorCode(value)).toBe('UnknownError');
  });
});

describe('awsFailure', () => {
  it.each([
    ['Throttling', 400],
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 429],
    ['RequestLimitExceeded', 400],
    ['KMSInternalException', 500],
    ['DependencyTimeoutException', 503],
    ['ServiceUnavailable', 503],
    ['InternalFailure', 500],
  ])('classifies %s as transient AwsUnavailableError', (code, status) => {
    const error = mod.awsFailure('iam:ListAccessKeys', sdkError(code, status));
    expect(error).toBeInstanceOf(AwsUnavailableError);
    expect(error.name).toBe('AwsUnavailableError');
    expect(error.transient).toBe(true);
    expect(error.message).toBe(`iam:ListAccessKeys failed: ${code} (HTTP ${status})`);
  });

  it('classifies a modelled 5xx exception as transient', () => {
    const failure = Object.assign(
      new ServiceFailureException({ message: 'oops', $metadata: { httpStatusCode: 500 } }),
      { Code: 'ServiceFailure' },
    );
    expect(mod.awsFailure('iam:GetUser', failure).name).toBe('AwsUnavailableError');
    const kms = new KMSInternalException({ message: 'oops', $metadata: { httpStatusCode: 500 } });
    expect(mod.awsFailure('kms:Encrypt', kms).name).toBe('AwsUnavailableError');
  });

  it('classifies any HTTP 5xx as transient, whatever the code', () => {
    expect(mod.awsFailure('x', sdkError('SomethingNew', 502)).name).toBe('AwsUnavailableError');
  });

  it('classifies an error the SDK marked retryable as transient', () => {
    const error = sdkError('Whatever', 400, { $retryable: { throttling: true } });
    expect(mod.awsFailure('x', error).name).toBe('AwsUnavailableError');
  });

  it.each([
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    sdkError('TimeoutError'),
    sdkError('AbortError'),
  ])('classifies network failure %s as transient', (error) => {
    const failure = mod.awsFailure('sts:GetCallerIdentity', error);
    expect(failure.name).toBe('AwsUnavailableError');
    expect(failure.message).not.toContain('HTTP');
  });

  it.each([
    ['AccessDenied', 403],
    ['InvalidParameterValue', 400],
    ['ValidationError', 400],
    ['NotFoundException', 400],
  ])('classifies %s as permanent AwsRequestError', (code, status) => {
    const error = mod.awsFailure('iam:UpdateAccessKey', sdkError(code, status));
    expect(error).toBeInstanceOf(AwsRequestError);
    expect(error.name).toBe('AwsRequestError');
    expect(error.transient).toBe(false);
    expect(error.message).toBe(`iam:UpdateAccessKey failed: ${code} (HTTP ${status})`);
  });

  it('classifies an unexpected local error without status as permanent', () => {
    expect(mod.awsFailure('kms:Encrypt', new Error('response without CiphertextBlob')).name).toBe(
      'AwsRequestError',
    );
  });

  it("names a connection reset by its Node code, not the SDK's TimeoutError", () => {
    // @smithy/node-http-handler renames ECONNRESET, EPIPE and ETIMEDOUT errors to TimeoutError.
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', name: 'TimeoutError' });
    expect(mod.errorCode(reset)).toBe('ECONNRESET');
    const failure = mod.awsFailure('sts:GetCallerIdentity', reset);
    expect(failure.name).toBe('AwsUnavailableError');
    expect(failure.message).toBe('sts:GetCallerIdentity failed: ECONNRESET');
    // A real timeout of the SDK has no Node code and keeps its name.
    expect(mod.awsFailure('x', sdkError('TimeoutError')).message).toBe('x failed: TimeoutError');
  });

  it('keeps ECONNRESET in the message when a server really resets the connection', async () => {
    const server = createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const sts = new STSClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      const error: unknown = await sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
      expect((error as Error).name).toBe('TimeoutError');
      const failure = mod.awsFailure('sts:GetCallerIdentity', error);
      expect(failure.name).toBe('AwsUnavailableError');
      expect(failure.message).toBe('sts:GetCallerIdentity failed: ECONNRESET');
    } finally {
      sts.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('returns a RotatorError unchanged', () => {
    const original = new KeyVerificationError('already classified');
    expect(mod.awsFailure('x', original)).toBe(original);
  });

  it('keeps the service message (which may carry key ids or secrets) out of its own message', () => {
    const error = sdkError('AccessDenied', 403);
    error.message = 'User AKIAIOSFODNN7EXAMPLE with secret wJalrXUtnFEMI is not authorized';
    const failure = mod.awsFailure('iam:CreateAccessKey', error);
    expect(failure.message).not.toContain('wJalrXUtnFEMI');
    expect(failure.message).not.toContain('not authorized');
  });
});

describe('aws clients', () => {
  it('creates the IAM and KMS clients once per process in the configured region', async () => {
    const { iamClients } = await import('../../../functions/commons/clients/iam.js');
    const { kmsClient } = await import('../../../functions/commons/clients/kms.js');
    const first = iamClients();
    expect(iamClients()).toBe(first);
    expect(kmsClient()).toBe(kmsClient());
    expect(await first.iam.config.region()).toBe('eu-west-1');
    expect(await first.iamOnce.config.region()).toBe('eu-west-1');
    expect(await kmsClient().config.region()).toBe('eu-west-1');
  });

  it('keeps SDK retries for ordinary IAM calls but not for the non-idempotent iamOnce client', async () => {
    const { iamClients } = await import('../../../functions/commons/clients/iam.js');
    expect(await iamClients().iam.config.maxAttempts()).toBeGreaterThan(1);
    expect(await iamClients().iamOnce.config.maxAttempts()).toBe(1);
  });

  it('makes an STS client that signs with the given key and does not retry', async () => {
    const { stsWith } = await import('../../../functions/commons/clients/sts.js');
    const sts = stsWith({ accessKeyId: 'AKIANEW', secretAccessKey: 'new-secret' });
    expect(sts).not.toBe(stsWith({ accessKeyId: 'AKIANEW', secretAccessKey: 'new-secret' }));
    expect(await sts.config.region()).toBe('eu-west-1');
    expect(await sts.config.credentials()).toMatchObject({
      accessKeyId: 'AKIANEW',
      secretAccessKey: 'new-secret',
    });
    expect(await sts.config.maxAttempts()).toBe(1);
  });
});
