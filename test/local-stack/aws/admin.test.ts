import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { clients, useEmulator } from './helpers.js';

const emulator = useEmulator();

async function admin(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${emulator().endpoint}/__admin/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('admin API', () => {
  it('seeds a user and a key that signs requests at once', async () => {
    const user = await admin('POST', 'users', { userName: 'seeded', path: '/svc/' });
    expect(user).toMatchObject({
      status: 201,
      json: { userName: 'seeded', arn: 'arn:aws:iam::123456789012:user/svc/seeded' },
    });
    await admin('POST', 'propagation', { ms: 60_000 });
    const key = await admin('POST', 'users/seeded/access-keys');
    expect(key).toMatchObject({
      status: 201,
      json: { status: 'Active', secretAccessKey: expect.any(String) },
    });
    const { accessKeyId, secretAccessKey } = key.json as { accessKeyId: string; secretAccessKey: string };
    const identity = await clients(emulator(), { accessKeyId, secretAccessKey }).sts.send(
      new GetCallerIdentityCommand({}),
    );
    expect(identity.Arn).toBe('arn:aws:iam::123456789012:user/svc/seeded');
    await admin('POST', 'propagation', { ms: 0 });
  });

  it('shows state without any secret', async () => {
    emulator().createSecret('state/secret', 'secret-value-in-state');
    emulator().putParameter('/state/secure', 'parameter-value-in-state', 'SecureString');
    const { status, json } = await admin('GET', 'state');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      accountId: '123456789012',
      region: 'us-east-1',
      propagationMs: 0,
      secrets: [{ name: 'state/secret', versions: [{ stages: ['AWSCURRENT'] }] }],
      parameters: [{ name: '/state/secure', type: 'SecureString', version: 1 }],
    });
    const text = JSON.stringify(json);
    expect(text).toContain('local-admin');
    expect(text).not.toContain(emulator().adminCredentials.secretAccessKey);
    expect(text).not.toContain('secret-value-in-state');
    expect(text).not.toContain('parameter-value-in-state');
    // No field that could carry one: key secrets, key material, secret or parameter values.
    expect(text).not.toMatch(/secretAccessKey|material|SecretString|"value"|ciphertext/i);
  });

  it('seeds a secret and a parameter that the SDK reads back', async () => {
    const secret = await admin('POST', 'secrets', { name: 'admin/vault-token', value: 'hvs.seeded' });
    expect(secret).toMatchObject({
      status: 201,
      json: {
        name: 'admin/vault-token',
        arn: expect.stringMatching(
          /^arn:aws:secretsmanager:us-east-1:123456789012:secret:admin\/vault-token-[A-Za-z0-9]{6}$/,
        ),
        versionId: expect.any(String),
      },
    });
    const { arn } = secret.json as { arn: string };
    const { secretsManager, ssm } = clients(emulator());
    const value = await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(value.SecretString).toBe('hvs.seeded');

    const parameter = await admin('POST', 'parameters', {
      name: '/admin/ca',
      value: 'PEM',
      type: 'SecureString',
    });
    expect(parameter).toMatchObject({
      status: 201,
      json: { name: '/admin/ca', arn: 'arn:aws:ssm:us-east-1:123456789012:parameter/admin/ca', version: 1 },
    });
    // Seeding again overwrites, as a new version.
    expect(
      (await admin('POST', 'parameters', { name: '/admin/ca', value: 'PEM2', type: 'String' })).json,
    ).toMatchObject({ version: 2, type: 'String' });
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/admin/ca' }));
    expect(Parameter).toMatchObject({ Value: 'PEM2', Version: 2, Type: 'String' });
  });

  it('answers 400 for a bad seed and the AWS error for a duplicate secret', async () => {
    expect((await admin('POST', 'parameters', { name: '/x', value: 'v', type: 'Binary' })).status).toBe(400);
    expect((await admin('POST', 'secrets', { name: 'x' })).status).toBe(400);
    await admin('POST', 'secrets', { name: 'admin/twice', value: 'a' });
    expect(await admin('POST', 'secrets', { name: 'admin/twice', value: 'b' })).toMatchObject({
      status: 400,
      json: { error: 'ResourceExistsException' },
    });
  });

  it('arms, lists and clears faults', async () => {
    expect(
      await admin('POST', 'faults', { specs: ['iam:CreateAccessKey:503x2', 'kms:Decrypt:reset'] }),
    ).toMatchObject({
      status: 201,
    });
    const listed = await admin('GET', 'faults');
    expect((listed.json as { faults: unknown[] }).faults).toHaveLength(2);
    expect(await admin('DELETE', 'faults')).toEqual({ status: 200, json: { faults: [] } });
  });

  it('reports and resets call counts', async () => {
    await admin('DELETE', 'calls');
    await clients(emulator()).sts.send(new GetCallerIdentityCommand({}));
    expect(await admin('GET', 'calls')).toEqual({
      status: 200,
      json: { calls: { 'sts:GetCallerIdentity': 1 } },
    });
    await admin('DELETE', 'calls');
    expect(await admin('GET', 'calls')).toEqual({ status: 200, json: { calls: {} } });
  });

  it('answers 400 with a clear message for bad bodies', async () => {
    const badSpec = await admin('POST', 'faults', { spec: 'iam:CreateAccessKey:bogus!' });
    expect(badSpec.status).toBe(400);
    expect(JSON.stringify(badSpec.json)).toContain('invalid fault spec');
    const badMs = await admin('POST', 'propagation', { ms: -1 });
    expect(badMs.status).toBe(400);
    expect(JSON.stringify(badMs.json)).toContain('ms');
    const unknownField = await admin('POST', 'users', { name: 'x' });
    expect(unknownField.status).toBe(400);
  });

  it('answers 404 for an unknown user and 409 for a duplicate', async () => {
    expect((await admin('POST', 'users/ghost/access-keys')).status).toBe(404);
    await admin('POST', 'users', { userName: 'twice' });
    expect(await admin('POST', 'users', { userName: 'twice' })).toMatchObject({
      status: 409,
      json: { error: 'EntityAlreadyExists' },
    });
  });
});
