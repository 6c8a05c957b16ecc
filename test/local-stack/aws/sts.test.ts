import { CreateAccessKeyCommand, GetUserCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { clients, failure, useEmulator } from './helpers.js';

const emulator = useEmulator({ accountId: '111122223333' });
const ROLE_ARN = 'arn:aws:iam::111122223333:role/service/rotator';

async function assumeRole() {
  const { Credentials, AssumedRoleUser } = await clients(emulator()).sts.send(
    new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'rotation-1', DurationSeconds: 900 }),
  );
  return {
    assumedRoleUser: AssumedRoleUser,
    credentials: {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    },
    expiration: Credentials?.Expiration,
  };
}

describe('STS', () => {
  it('identifies an IAM user caller', async () => {
    const identity = await clients(emulator()).sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: '111122223333',
      Arn: 'arn:aws:iam::111122223333:user/local-admin',
      UserId: expect.stringMatching(/^AIDA/),
    });
  });

  it('issues temporary ASIA credentials from AssumeRole', async () => {
    const before = Date.now();
    const { credentials, assumedRoleUser, expiration } = await assumeRole();
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(credentials.sessionToken.length).toBeGreaterThan(0);
    expect(expiration?.getTime()).toBeGreaterThanOrEqual(before + 899_000);
    expect(assumedRoleUser?.Arn).toBe('arn:aws:sts::111122223333:assumed-role/rotator/rotation-1');
    expect(assumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:rotation-1$/);
  });

  it('accepts requests signed with the session credentials and identifies the assumed role', async () => {
    const { credentials, assumedRoleUser } = await assumeRole();
    const identity = await clients(emulator(), credentials).sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe('arn:aws:sts::111122223333:assumed-role/rotator/rotation-1');
    expect(identity.UserId).toBe(assumedRoleUser?.AssumedRoleId);
    expect(identity.Account).toBe('111122223333');
  });

  it('rejects session credentials sent with a wrong session token', async () => {
    const { credentials } = await assumeRole();
    const forged = { ...credentials, sessionToken: 'forged' };
    const error = await failure(clients(emulator(), forged).sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('InvalidClientTokenId');
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });

  it('requires a UserName for IAM calls made with role credentials', async () => {
    const { credentials } = await assumeRole();
    const { iam } = clients(emulator(), credentials);
    const error = await failure(iam.send(new CreateAccessKeyCommand({})));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('Must specify userName when calling with non-User credentials');
    await expect(iam.send(new GetUserCommand({ UserName: 'local-admin' }))).resolves.toBeDefined();
  });

  it('answers ValidationError for a RoleArn that is not a role', async () => {
    const error = await failure(
      clients(emulator()).sts.send(
        new AssumeRoleCommand({ RoleArn: 'arn:aws:s3:::bucket', RoleSessionName: 'x1' }),
      ),
    );
    expect(error.name).toBe('ValidationError');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});
