import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();

afterEach(() => emulator().traffic.clearFaults());

const path = (prefix: string): string => `/${uniqueName(prefix)}`;
const arnOf = (name: string): string => `arn:aws:ssm:us-east-1:123456789012:parameter${name}`;

describe('SSM Parameter Store over awsJson1_1', () => {
  it('puts and gets a String parameter', async () => {
    const { ssm } = clients(emulator());
    const name = path('vault/addr');
    expect(
      await ssm.send(new PutParameterCommand({ Name: name, Value: 'https://vault:8200', Type: 'String' })),
    ).toMatchObject({ Version: 1, Tier: 'Standard' });
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(Parameter).toMatchObject({
      Name: name,
      Type: 'String',
      Value: 'https://vault:8200',
      Version: 1,
      ARN: arnOf(name),
      DataType: 'text',
    });
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    expect(Parameter?.Selector).toBeUndefined();
  });

  it('returns ciphertext for a SecureString without WithDecryption and the plaintext with it', async () => {
    const { ssm, kms } = clients(emulator());
    const name = path('vault/token');
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'hvs.secure-token', Type: 'SecureString' }));

    const hidden = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter;
    expect(hidden?.Type).toBe('SecureString');
    expect(hidden?.Value).not.toContain('hvs.secure-token');
    expect(hidden?.Value).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const explicit = (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: false })))
      .Parameter;
    expect(explicit?.Value).toBe(hidden?.Value);

    const shown = (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;
    expect(shown).toMatchObject({ Name: name, Type: 'SecureString', Value: 'hvs.secure-token', Version: 1 });

    // As in AWS, the ciphertext is a KMS blob under alias/aws/ssm with the parameter ARN as context.
    const decrypted = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(hidden?.Value ?? '', 'base64'),
        EncryptionContext: { PARAMETER_ARN: arnOf(name) },
      }),
    );
    expect(new TextDecoder().decode(decrypted.Plaintext)).toBe('hvs.secure-token');
    const { kmsKeys } = emulator().snapshot();
    expect(kmsKeys.find((key) => key.aliases.includes('alias/aws/ssm'))?.arn).toBe(decrypted.KeyId);
  });

  it('encrypts a SecureString with the KeyId given, and answers InvalidKeyId for an unknown or HMAC key', async () => {
    const { ssm, kms } = clients(emulator());
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'ca bundle' }));
    const name = path('vault/ca');
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: '-----BEGIN CERTIFICATE-----',
        Type: 'SecureString',
        KeyId: KeyMetadata?.Arn,
      }),
    );
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(Parameter?.Value).toBe('-----BEGIN CERTIFICATE-----');
    const hidden = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value ?? '';
    const decrypted = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(hidden, 'base64'),
        EncryptionContext: { PARAMETER_ARN: arnOf(name) },
      }),
    );
    expect(decrypted.KeyId).toBe(KeyMetadata?.Arn);

    const unknown = await failure(
      ssm.send(
        new PutParameterCommand({
          Name: path('x'),
          Value: 'v',
          Type: 'SecureString',
          KeyId: 'alias/missing',
        }),
      ),
    );
    expect(unknown.name).toBe('InvalidKeyId');
    const hmacKey = await kms.send(
      new CreateKeyCommand({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' }),
    );
    const notForEncryption = await failure(
      ssm.send(
        new PutParameterCommand({
          Name: path('y'),
          Value: 'v',
          Type: 'SecureString',
          KeyId: hmacKey.KeyMetadata?.Arn,
        }),
      ),
    );
    expect(notForEncryption.name).toBe('InvalidKeyId');
  });

  it('answers ParameterAlreadyExists without Overwrite and adds a version with it', async () => {
    const { ssm } = clients(emulator());
    const name = path('overwrite');
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'one', Type: 'SecureString' }));
    const error = await failure(
      ssm.send(new PutParameterCommand({ Name: name, Value: 'two', Type: 'SecureString' })),
    );
    expect(error.name).toBe('ParameterAlreadyExists');
    expect(error.message).toBe(
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    );
    expect(error.$metadata?.httpStatusCode).toBe(400);

    const put = await ssm.send(new PutParameterCommand({ Name: name, Value: 'two', Overwrite: true }));
    expect(put.Version).toBe(2);
    const latest = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(latest.Parameter).toMatchObject({ Value: 'two', Version: 2, Type: 'SecureString' });
    const first = await ssm.send(new GetParameterCommand({ Name: `${name}:1`, WithDecryption: true }));
    expect(first.Parameter).toMatchObject({ Name: name, Value: 'one', Version: 1, Selector: ':1' });
    const missing = await failure(ssm.send(new GetParameterCommand({ Name: `${name}:9` })));
    expect(missing.name).toBe('ParameterVersionNotFound');
  });

  it('answers ParameterNotFound (400, no message) for an unknown parameter', async () => {
    const { ssm } = clients(emulator());
    const error = await failure(
      ssm.send(new GetParameterCommand({ Name: '/no/such/parameter', WithDecryption: true })),
    );
    expect(error.name).toBe('ParameterNotFound');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    const deleted = await failure(ssm.send(new DeleteParameterCommand({ Name: '/no/such/parameter' })));
    expect(deleted.name).toBe('ParameterNotFound');
  });

  it('reads by ARN, and lists unknown names of GetParameters as InvalidParameters', async () => {
    const { ssm } = clients(emulator());
    const [a, b] = [path('many'), path('many')];
    await ssm.send(new PutParameterCommand({ Name: a, Value: 'va', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: b, Value: 'vb', Type: 'SecureString' }));
    expect((await ssm.send(new GetParameterCommand({ Name: arnOf(a) }))).Parameter?.Value).toBe('va');

    const { Parameters, InvalidParameters } = await ssm.send(
      new GetParametersCommand({ Names: [a, b, '/missing'], WithDecryption: true }),
    );
    expect(Parameters?.map((p) => [p.Name, p.Value])).toEqual([
      [a, 'va'],
      [b, 'vb'],
    ]);
    expect(InvalidParameters).toEqual(['/missing']);
  });

  it('validates names and types as AWS does', async () => {
    const { ssm } = clients(emulator());
    const reserved = await failure(
      ssm.send(new PutParameterCommand({ Name: '/aws/x', Value: 'v', Type: 'String' })),
    );
    expect(reserved.name).toBe('ValidationException');
    const noType = await failure(ssm.send(new PutParameterCommand({ Name: path('typeless'), Value: 'v' })));
    expect(noType.name).toBe('ValidationException');
    const keyOnString = await failure(
      ssm.send(
        new PutParameterCommand({ Name: path('k'), Value: 'v', Type: 'String', KeyId: 'alias/aws/ssm' }),
      ),
    );
    expect(keyOnString.name).toBe('ValidationException');
  });

  it('reads a parameter seeded through the programmatic API, and keeps values out of the snapshot', async () => {
    const name = path('seeded');
    const seeded = emulator().putParameter(name, 'hvs.seeded-param', 'SecureString');
    expect(seeded).toMatchObject({
      name,
      arn: arnOf(name),
      type: 'SecureString',
      version: 1,
      keyId: 'alias/aws/ssm',
    });
    const { Parameter } = await clients(emulator()).ssm.send(
      new GetParameterCommand({ Name: name, WithDecryption: true }),
    );
    expect(Parameter?.Value).toBe('hvs.seeded-param');
    expect(emulator().putParameter(name, 'hvs.next', 'SecureString').version).toBe(2);
    const snapshot = JSON.stringify(emulator().snapshot());
    expect(snapshot).toContain(name);
    expect(snapshot).not.toContain('hvs.seeded-param');
    expect(snapshot).not.toContain('hvs.next');
  });
});

describe('SSM faults, counting and signatures', () => {
  it('applies faults to GetParameter with the SSM error codes and counts calls as ssm:<Action>', async () => {
    const name = path('faulty');
    emulator().putParameter(name, 'v', 'String');
    const { ssm } = clients(emulator());
    emulator().traffic.resetCalls();
    emulator().traffic.addFault('ssm:GetParameter:500');
    const internal = await failure(ssm.send(new GetParameterCommand({ Name: name })));
    expect(internal.name).toBe('InternalServerError');
    expect(internal.$metadata?.httpStatusCode).toBe(500);
    expect((await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value).toBe('v');
    expect(emulator().traffic.calls()).toEqual({ 'ssm:GetParameter': 2 });
  });

  it('rejects a wrong secret key with InvalidSignatureException', async () => {
    const { accessKeyId } = emulator().adminCredentials;
    const wrong = clients(emulator(), { accessKeyId, secretAccessKey: 'y'.repeat(40) });
    const error = await failure(wrong.ssm.send(new GetParameterCommand({ Name: '/any' })));
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});
