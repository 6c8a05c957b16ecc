import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();

afterEach(() => emulator().traffic.clearFaults());

const ARN = /^arn:aws:secretsmanager:us-east-1:123456789012:secret:(.+)-[A-Za-z0-9]{6}$/;

describe('Secrets Manager over awsJson1_1', () => {
  it('creates a secret and reads it back by name and by ARN', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('vault/token');
    const created = await secretsManager.send(
      new CreateSecretCommand({ Name: name, SecretString: 'hvs.one' }),
    );
    expect(created.Name).toBe(name);
    expect(created.ARN).toMatch(ARN);
    expect(ARN.exec(created.ARN ?? '')?.[1]).toBe(name);
    // The SDK sends a ClientRequestToken (a UUID), which becomes the version id.
    expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);

    const byName = await secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    expect(byName).toMatchObject({
      ARN: created.ARN,
      Name: name,
      SecretString: 'hvs.one',
      VersionId: created.VersionId,
      VersionStages: ['AWSCURRENT'],
    });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(byName.SecretBinary).toBeUndefined();

    const byArn = await secretsManager.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byArn.SecretString).toBe('hvs.one');
    // A partial ARN (without the random suffix) names the secret too.
    const partial = created.ARN?.slice(0, -7);
    expect((await secretsManager.send(new GetSecretValueCommand({ SecretId: partial }))).Name).toBe(name);
  });

  it('makes a new PutSecretValue version AWSCURRENT and the old one AWSPREVIOUS', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('approle/secret-id');
    const first = await secretsManager.send(
      new CreateSecretCommand({ Name: name, SecretString: '{"secret_id":"a"}' }),
    );
    const second = await secretsManager.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: '{"secret_id":"b"}' }),
    );
    expect(second).toMatchObject({ ARN: first.ARN, Name: name, VersionStages: ['AWSCURRENT'] });
    expect(second.VersionId).not.toBe(first.VersionId);

    const current = await secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    expect(current).toMatchObject({ SecretString: '{"secret_id":"b"}', VersionId: second.VersionId });
    const previous = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous).toMatchObject({ SecretString: '{"secret_id":"a"}', VersionStages: ['AWSPREVIOUS'] });
    const byId = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: name, VersionId: first.VersionId }),
    );
    expect(byId.SecretString).toBe('{"secret_id":"a"}');

    const described = await secretsManager.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described).toMatchObject({ ARN: first.ARN, Name: name });
    expect(described.VersionIdsToStages).toEqual({
      [first.VersionId ?? '']: ['AWSPREVIOUS'],
      [second.VersionId ?? '']: ['AWSCURRENT'],
    });
    expect(described.CreatedDate).toBeInstanceOf(Date);
  });

  it('treats a repeated ClientRequestToken as a retry, and refuses it with another value', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('idempotent');
    await secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    const token = 'a'.repeat(32);
    const put = () =>
      new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: token });
    const once = await secretsManager.send(put());
    const twice = await secretsManager.send(put());
    expect(twice.VersionId).toBe(once.VersionId);
    expect(
      Object.keys(
        (await secretsManager.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages ?? {},
      ),
    ).toHaveLength(2);
    const changed = await failure(
      secretsManager.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: 'v3', ClientRequestToken: token }),
      ),
    );
    expect(changed.name).toBe('ResourceExistsException');
  });

  it('answers ResourceNotFoundException (400) for an unknown secret, name or ARN', async () => {
    const { secretsManager } = clients(emulator());
    const byName = await failure(
      secretsManager.send(new GetSecretValueCommand({ SecretId: 'missing/secret' })),
    );
    expect(byName.name).toBe('ResourceNotFoundException');
    expect(byName.message).toBe("Secrets Manager can't find the specified secret.");
    expect(byName.$metadata?.httpStatusCode).toBe(400);

    const byArn = await failure(
      secretsManager.send(
        new GetSecretValueCommand({
          SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf',
        }),
      ),
    );
    expect(byArn.name).toBe('ResourceNotFoundException');
    const put = await failure(
      secretsManager.send(new PutSecretValueCommand({ SecretId: 'missing', SecretString: 'x' })),
    );
    expect(put.name).toBe('ResourceNotFoundException');
  });

  it('answers ResourceNotFoundException for a secret without a value', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('empty');
    const created = await secretsManager.send(new CreateSecretCommand({ Name: name }));
    expect(created.VersionId).toBeUndefined();
    const error = await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toBe(
      "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    );
  });

  it('answers ResourceExistsException, InvalidParameterException and ValidationException on create', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('dup');
    await secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const dup = await failure(
      secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'y' })),
    );
    expect(dup.name).toBe('ResourceExistsException');
    expect(dup.message).toBe(`The operation failed because the secret ${name} already exists.`);

    const both = await failure(
      secretsManager.send(
        new CreateSecretCommand({
          Name: uniqueName('both'),
          SecretString: 'x',
          SecretBinary: new Uint8Array([1]),
        }),
      ),
    );
    expect(both.name).toBe('InvalidParameterException');

    const badName = await failure(
      secretsManager.send(new CreateSecretCommand({ Name: 'has space', SecretString: 'x' })),
    );
    expect(badName.name).toBe('ValidationException');
    expect(badName.message).toMatch(/^Invalid name\./);
  });

  it('round-trips SecretBinary', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('binary');
    await secretsManager.send(
      new CreateSecretCommand({ Name: name, SecretBinary: new Uint8Array([0, 1, 254, 255]) }),
    );
    const { SecretBinary, SecretString } = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: name }),
    );
    expect(SecretString).toBeUndefined();
    expect([...(SecretBinary ?? [])]).toEqual([0, 1, 254, 255]);
  });

  it('answers InvalidRequestException for a secret scheduled for deletion', async () => {
    const { secretsManager } = clients(emulator());
    const name = uniqueName('deleted');
    const { ARN } = await secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const deleted = await secretsManager.send(
      new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }),
    );
    expect(deleted.ARN).toBe(ARN);
    expect(deleted.DeletionDate?.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);

    const read = await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(read.name).toBe('InvalidRequestException');
    expect(read.message).toBe(
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
    const recreate = await failure(
      secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'y' })),
    );
    expect(recreate.name).toBe('InvalidRequestException');
    expect(
      (await secretsManager.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate,
    ).toBeInstanceOf(Date);

    await secretsManager.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    const gone = await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(gone.name).toBe('ResourceNotFoundException');
  });

  it('reads a secret seeded through the programmatic API', async () => {
    const name = uniqueName('seeded');
    const seeded = emulator().createSecret(name, 'hvs.seeded');
    expect(seeded.arn).toMatch(ARN);
    const { SecretString, ARN: arn } = await clients(emulator()).secretsManager.send(
      new GetSecretValueCommand({ SecretId: seeded.arn }),
    );
    expect(SecretString).toBe('hvs.seeded');
    expect(arn).toBe(seeded.arn);
    const info = emulator()
      .snapshot()
      .secrets.find((secret) => secret.name === name);
    expect(info).toMatchObject({
      arn: seeded.arn,
      versions: [{ versionId: seeded.versionId, stages: ['AWSCURRENT'] }],
    });
    expect(JSON.stringify(info)).not.toContain('hvs.seeded');
  });
});

describe('Secrets Manager faults, counting and signatures', () => {
  it('applies faults to GetSecretValue with the Secrets Manager error codes', async () => {
    const name = uniqueName('faulty');
    emulator().createSecret(name, 'hvs.x');
    const { secretsManager } = clients(emulator());
    emulator().traffic.addFault('secretsmanager:GetSecretValue:500');
    const internal = await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(internal.name).toBe('InternalServiceError');
    expect(internal.$metadata?.httpStatusCode).toBe(500);

    emulator().traffic.addFault('secretsmanager:GetSecretValue:ThrottlingException');
    const throttled = await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(throttled.name).toBe('ThrottlingException');
    expect(throttled.$metadata?.httpStatusCode).toBe(400);

    emulator().traffic.addFault('secretsmanager:GetSecretValue:reset');
    const reset = await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(reset.$metadata?.httpStatusCode).toBeUndefined();

    // Each fault fires once; the next call is served.
    expect((await secretsManager.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
      'hvs.x',
    );
  });

  it('counts calls as secretsmanager:<Action>', async () => {
    const { traffic } = emulator();
    traffic.resetCalls();
    const name = uniqueName('counted');
    const { secretsManager } = clients(emulator());
    await secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
    await failure(secretsManager.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(traffic.calls()).toEqual({ 'secretsmanager:CreateSecret': 1, 'secretsmanager:GetSecretValue': 2 });
  });

  it('rejects a wrong secret key with InvalidSignatureException and an unknown key with UnrecognizedClientException', async () => {
    const name = uniqueName('signed');
    emulator().createSecret(name, 'x');
    const { accessKeyId, secretAccessKey } = emulator().adminCredentials;
    const wrong = clients(emulator(), { accessKeyId, secretAccessKey: 'x'.repeat(40) });
    const badSignature = await failure(
      wrong.secretsManager.send(new GetSecretValueCommand({ SecretId: name })),
    );
    expect(badSignature.name).toBe('InvalidSignatureException');
    expect(badSignature.message).toMatch(/^The request signature we calculated does not match/);
    expect(badSignature.$metadata?.httpStatusCode).toBe(400);

    const unknown = clients(emulator(), { accessKeyId: 'AKIA' + 'Q'.repeat(16), secretAccessKey });
    const badKey = await failure(unknown.secretsManager.send(new GetSecretValueCommand({ SecretId: name })));
    expect(badKey.name).toBe('UnrecognizedClientException');
    expect(badKey.$metadata?.httpStatusCode).toBe(400);
  });
});
