import { CreateAccessKeyCommand, CreateUserCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { startAwsEmulator } from '../../../local-stack/aws/index.js';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();

afterEach(() => emulator().traffic.clearFaults());

async function newUser(): Promise<string> {
  const userName = uniqueName('faulty');
  emulator().createUser(userName);
  return userName;
}

describe('injected faults', () => {
  it('answers a status fault with the service error for that status', async () => {
    emulator().traffic.addFault('sts:GetCallerIdentity:503');
    const error = await failure(clients(emulator()).sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('ServiceUnavailable');
    expect(error.$metadata?.httpStatusCode).toBe(503);

    emulator().traffic.addFault('kms:CreateKey:500');
    const kmsError = await failure(clients(emulator()).kms.send(new CreateKeyCommand({})));
    expect(kmsError.name).toBe('KMSInternalException');
    expect(kmsError.$metadata?.httpStatusCode).toBe(500);
  });

  it('answers a code fault with that code and the status AWS uses for it', async () => {
    emulator().traffic.addFault('iam:CreateUser:Throttling');
    const throttled = await failure(
      clients(emulator()).iam.send(new CreateUserCommand({ UserName: uniqueName('t') })),
    );
    expect(throttled.name).toBe('Throttling');
    expect(throttled.$metadata?.httpStatusCode).toBe(400);

    emulator().traffic.addFault('kms:CreateKey:AccessDeniedException');
    const denied = await failure(clients(emulator()).kms.send(new CreateKeyCommand({})));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.$metadata?.httpStatusCode).toBe(400);
  });

  it('applies a fault only to the nth matching call and only count times', async () => {
    emulator().traffic.addFault('sts:GetCallerIdentity:ServiceUnavailablex1@2');
    const { sts } = clients(emulator());
    await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
    expect((await failure(sts.send(new GetCallerIdentityCommand({})))).name).toBe('ServiceUnavailable');
    await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
  });

  it('never answers on timeout, so the client gives up', async () => {
    emulator().traffic.addFault('sts:GetCallerIdentity:timeout');
    const started = Date.now();
    const error = await failure(
      clients(emulator()).sts.send(new GetCallerIdentityCommand({}), {
        abortSignal: AbortSignal.timeout(150),
      }),
    );
    expect(error.name).toMatch(/Abort|Timeout/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('resets the connection without creating the key', async () => {
    const userName = await newUser();
    emulator().traffic.addFault('iam:CreateAccessKey:reset');
    const error = await failure(
      clients(emulator()).iam.send(new CreateAccessKeyCommand({ UserName: userName })),
    );
    expect(error.$metadata?.httpStatusCode).toBeUndefined();
    expect(emulator().listAccessKeys(userName)).toEqual([]);
  });

  it('creates the key on after-commit although the client gets an error', async () => {
    const userName = await newUser();
    emulator().traffic.addFault('iam:CreateAccessKey:after-commit');
    const { iam } = clients(emulator());
    await failure(iam.send(new CreateAccessKeyCommand({ UserName: userName })));
    const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    expect(AccessKeyMetadata).toHaveLength(1);
  });

  it('closes promptly while a timeout fault holds a connection', async () => {
    const held = await startAwsEmulator();
    held.traffic.addFault('sts:GetCallerIdentity:timeout');
    const pending = clients(held).sts.send(new GetCallerIdentityCommand({}));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await held.close();
    expect(Date.now() - started).toBeLessThan(500);
    await failure(pending);
  });
});

describe('call counting', () => {
  it('counts calls per service and action, including refused ones', async () => {
    const { traffic } = emulator();
    traffic.resetCalls();
    const { sts, kms } = clients(emulator());
    await sts.send(new GetCallerIdentityCommand({}));
    await sts.send(new GetCallerIdentityCommand({}));
    await kms.send(new CreateKeyCommand({}));
    await failure(
      clients(emulator(), { accessKeyId: 'AKIA' + 'Z'.repeat(16), secretAccessKey: 'x' }).sts.send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(traffic.calls()).toEqual({ 'kms:CreateKey': 1, 'sts:GetCallerIdentity': 3 });
  });
});
