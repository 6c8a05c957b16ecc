import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeSource, plainOrJson, readSecretSource } from '../../../functions/commons/secret-source.js';
import { rejectionOf, resetBeforeEach, sdkError, setHandlerEnv } from '../support.js';

const VALUE = 'hvs.CAESIJ1q2w3e4r5t6y7u8i9o0pAbCdEfGhIj';
const secretsManager = resetBeforeEach(mockClient(SecretsManagerClient));
const ssm = resetBeforeEach(mockClient(SSMClient));

beforeAll(() => {
  setHandlerEnv({ addr: 'http://127.0.0.1:9', rootToken: 'unused' });
});

describe('readSecretSource', () => {
  it('answers an environment value as it is, without calling AWS', async () => {
    await expect(readSecretSource({ kind: 'env', value: ` ${VALUE} ` })).resolves.toBe(` ${VALUE} `);
    expect(secretsManager.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('reads the SecretString of a Secrets Manager secret', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: VALUE });
    await expect(readSecretSource({ kind: 'secrets-manager', secretId: 'rotator/x' })).resolves.toBe(VALUE);
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: 'rotator/x' },
    ]);
  });

  it('answers undefined for a binary secret', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    await expect(
      readSecretSource({ kind: 'secrets-manager', secretId: 'rotator/x' }),
    ).resolves.toBeUndefined();
  });

  it('reads an SSM parameter with decryption', async () => {
    ssm
      .on(GetParameterCommand)
      .resolves({ Parameter: { Name: '/rotator/x', Value: VALUE, Type: 'SecureString' } });
    await expect(readSecretSource({ kind: 'ssm', parameter: '/rotator/x' })).resolves.toBe(VALUE);
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: '/rotator/x', WithDecryption: true },
    ]);
  });

  it('answers undefined for a parameter without value', async () => {
    ssm.on(GetParameterCommand).resolves({});
    await expect(readSecretSource({ kind: 'ssm', parameter: '/rotator/x' })).resolves.toBeUndefined();
  });

  it.each([
    ['ThrottlingException', 400, 'AwsUnavailableError'],
    ['InternalServiceError', 500, 'AwsUnavailableError'],
    ['ResourceNotFoundException', 400, 'AwsRequestError'],
    ['AccessDeniedException', 400, 'AwsRequestError'],
  ])('maps Secrets Manager %s to %s naming the action', async (code, status, name) => {
    secretsManager.on(GetSecretValueCommand).rejects(sdkError(code, status));
    const error = await rejectionOf(readSecretSource({ kind: 'secrets-manager', secretId: 'rotator/x' }));
    expect(error.name).toBe(name);
    expect(error.message).toContain('secretsmanager:GetSecretValue');
    expect(error.message).toContain(code);
  });

  it.each([
    ['ParameterNotFound', 400, 'AwsRequestError'],
    ['ThrottlingException', 400, 'AwsUnavailableError'],
  ])('maps SSM %s to %s naming the action', async (code, status, name) => {
    ssm.on(GetParameterCommand).rejects(sdkError(code, status));
    const error = await rejectionOf(readSecretSource({ kind: 'ssm', parameter: '/rotator/x' }));
    expect(error.name).toBe(name);
    expect(error.message).toContain('ssm:GetParameter');
  });
});

describe('describeSource', () => {
  it('names where a value is, never the value', () => {
    expect(describeSource({ kind: 'env', value: VALUE })).toBe('the environment');
    expect(describeSource({ kind: 'secrets-manager', secretId: 'rotator/x' })).toBe('secret rotator/x');
    expect(describeSource({ kind: 'ssm', parameter: '/rotator/x' })).toBe('parameter /rotator/x');
  });
});

describe('plainOrJson', () => {
  it.each([
    ['a plain value', VALUE, VALUE],
    ['a plain value with whitespace around it', `  ${VALUE}\n`, VALUE],
    ['JSON holding the field', JSON.stringify({ token: VALUE, note: 'x' }), VALUE],
    ['JSON with whitespace around it', `\n ${JSON.stringify({ token: VALUE })} \n`, VALUE],
  ])('answers the value for %s', (_what, raw, expected) => {
    expect(plainOrJson(raw, 'token')).toBe(expected);
  });

  it.each([
    ['undefined', undefined],
    ['an empty string', ''],
    ['whitespace', ' \n\t'],
    ['JSON without the field', JSON.stringify({ secret_id: VALUE })],
    ['JSON with an empty field', JSON.stringify({ token: '' })],
    ['JSON with a non-string field', JSON.stringify({ token: 42 })],
    ['malformed JSON', `{"token": "${VALUE}"`],
  ])('answers undefined for %s', (_what, raw) => {
    expect(plainOrJson(raw, 'token')).toBeUndefined();
  });

  it('reads the field it is asked for', () => {
    const raw = JSON.stringify({ token: 'a', secret_id: 'b' });
    expect(plainOrJson(raw, 'secret_id')).toBe('b');
  });
});
