import { readSecretSource } from '../../../../functions/commons/secret-source.js';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveTls } from '../../../../functions/commons/vault/tls.js';
import type { VaultTls } from '../../../../functions/commons/vault/config.js';
import { rejectionOf, resetBeforeEach, sdkError, setHandlerEnv } from '../../support.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBcaCERT\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBclientCERT\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEclientKEYmustNotLeak\n-----END PRIVATE KEY-----\n';

const secretsManager = resetBeforeEach(mockClient(SecretsManagerClient));
const ssm = resetBeforeEach(mockClient(SSMClient));

const tls = (extra: Partial<VaultTls>): VaultTls => ({
  ca: undefined,
  clientCert: undefined,
  skipVerify: false,
  ...extra,
});

beforeAll(() => {
  setHandlerEnv({ addr: 'http://127.0.0.1:9', rootToken: 'unused' });
});

describe('resolveTls', () => {
  it('answers no material when nothing is configured', async () => {
    await expect(resolveTls(tls({}), readSecretSource)).resolves.toEqual({});
    expect(secretsManager.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  describe('CA bundle', () => {
    it('takes a PEM bundle from the environment', async () => {
      await expect(resolveTls(tls({ ca: { kind: 'env', value: CA } }), readSecretSource)).resolves.toEqual({
        ca: CA,
      });
    });

    it('reads a PEM bundle from an SSM parameter, decrypted', async () => {
      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/vault/ca', Value: CA } });
      await expect(
        resolveTls(tls({ ca: { kind: 'ssm', parameter: '/vault/ca' } }), readSecretSource),
      ).resolves.toEqual({
        ca: CA,
      });
      expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
        Name: '/vault/ca',
        WithDecryption: true,
      });
    });

    it('throws ConfigurationError for a value that is not PEM, without echoing it', async () => {
      const error = await rejectionOf(
        resolveTls(tls({ ca: { kind: 'env', value: 'not-a-pem-value' } }), readSecretSource),
      );
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toBe('the environment holds no PEM CA bundle');
    });

    it('throws ConfigurationError naming the parameter when it has no value', async () => {
      ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/vault/ca' } });
      const error = await rejectionOf(
        resolveTls(tls({ ca: { kind: 'ssm', parameter: '/vault/ca' } }), readSecretSource),
      );
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain('parameter /vault/ca');
    });

    it('throws AwsRequestError when the parameter does not exist', async () => {
      ssm.on(GetParameterCommand).rejects(sdkError('ParameterNotFound', 400));
      const error = await rejectionOf(
        resolveTls(tls({ ca: { kind: 'ssm', parameter: '/vault/ca' } }), readSecretSource),
      );
      expect(error.name).toBe('AwsRequestError');
      expect(error.message).toContain('ssm:GetParameter');
    });
  });

  describe('client certificate', () => {
    it('takes certificate and key from the environment without calling AWS', async () => {
      await expect(
        resolveTls(tls({ clientCert: { cert: CERT, key: KEY } }), readSecretSource),
      ).resolves.toEqual({
        cert: CERT,
        key: KEY,
      });
      expect(secretsManager.calls()).toHaveLength(0);
    });

    it('reads certificate and key from a Secrets Manager secret holding JSON', async () => {
      secretsManager
        .on(GetSecretValueCommand, { SecretId: 'vault/client-cert' })
        .resolves({ SecretString: JSON.stringify({ certificate: CERT, private_key: KEY }) });
      await expect(
        resolveTls(tls({ clientCert: { secretId: 'vault/client-cert' } }), readSecretSource),
      ).resolves.toEqual({
        cert: CERT,
        key: KEY,
      });
    });

    it('combines a CA bundle and a client certificate', async () => {
      await expect(
        resolveTls(
          tls({ ca: { kind: 'env', value: CA }, clientCert: { cert: CERT, key: KEY } }),
          readSecretSource,
        ),
      ).resolves.toEqual({ ca: CA, cert: CERT, key: KEY });
    });

    it.each([
      ['JSON without private_key', JSON.stringify({ certificate: CERT })],
      ['JSON with a non-string certificate', JSON.stringify({ certificate: 1, private_key: KEY })],
      ['the PEM itself rather than JSON', `${CERT}${KEY}`],
      ['malformed JSON', `{"certificate": "${CERT}", "private_key": "${KEY}"`],
    ])('throws ConfigurationError naming the secret, without the key, for %s', async (_what, value) => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
      const error = await rejectionOf(
        resolveTls(tls({ clientCert: { secretId: 'vault/client-cert' } }), readSecretSource),
      );
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain('secret vault/client-cert');
      expect(error.message).toContain('"certificate"');
      expect(error.message).not.toContain('clientKEYmustNotLeak');
    });

    it('throws ConfigurationError for a binary secret', async () => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) });
      const error = await rejectionOf(
        resolveTls(tls({ clientCert: { secretId: 'vault/client-cert' } }), readSecretSource),
      );
      expect(error.name).toBe('ConfigurationError');
    });

    it('throws AwsUnavailableError when Secrets Manager throttles', async () => {
      secretsManager.on(GetSecretValueCommand).rejects(sdkError('ThrottlingException', 400));
      const error = await rejectionOf(
        resolveTls(tls({ clientCert: { secretId: 'vault/client-cert' } }), readSecretSource),
      );
      expect(error.name).toBe('AwsUnavailableError');
      expect(error.message).toContain('secretsmanager:GetSecretValue');
    });
  });
});
