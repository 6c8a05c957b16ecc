import { readSecretSource } from '../../../../functions/commons/secret-source.js';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient } from '../../../../functions/commons/vault/client.js';
import type { VaultEmulator } from '../../../../local-stack/vault/index.js';
import { privateCa } from '../../../support/tls.js';
import {
  rejectionOf,
  resetBeforeEach,
  sdkError,
  setHandlerEnv,
  startTlsVault,
  vaultSettings,
} from '../../support.js';

const ssm = resetBeforeEach(mockClient(SSMClient));
let vault: VaultEmulator;
let caCert: string;

beforeAll(async () => {
  ({ vault, caCert } = await startTlsVault());
  setHandlerEnv(vault);
  vault.writeSecret({ mount: 'secret', path: 'app/one', data: { value: 'v1' } });
});

afterAll(async () => {
  await vault.close();
});

const overTls = () =>
  new VaultClient(
    vaultSettings(vault.addr, vault.rootToken, {
      tls: { ca: { kind: 'ssm', parameter: '/vault/ca' }, clientCert: undefined, skipVerify: false },
    }),
    readSecretSource,
  );

const readOne = (client: VaultClient) =>
  client.request<{ data: { value: string } }>('GET', 'secret/data/app/one');

describe('VaultClient', () => {
  it('reads the CA bundle on the first request, not when it is built, and only once', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/vault/ca', Value: caCert } });
    const client = overTls();
    expect(ssm.calls()).toHaveLength(0);
    await expect(readOne(client)).resolves.toMatchObject({ data: { data: { value: 'v1' } } });
    await expect(readOne(client)).resolves.toMatchObject({ data: { data: { value: 'v1' } } });
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('reads the CA bundle again on the next request after a failed read', async () => {
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(sdkError('ThrottlingException', 400))
      .resolves({ Parameter: { Name: '/vault/ca', Value: caCert } });
    const client = overTls();
    expect((await rejectionOf(readOne(client))).name).toBe('AwsUnavailableError');
    await expect(readOne(client)).resolves.toMatchObject({ data: { data: { value: 'v1' } } });
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('throws the permanent VaultRequestError when the CA bundle does not sign Vault’s certificate', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/vault/ca', Value: privateCa().caCert } });
    const error = await rejectionOf(readOne(overTls()));
    expect(error.name).toBe('VaultRequestError');
    expect(error).toMatchObject({ status: 0 });
  });
});
