import { GetUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { afterEach, describe, expect, it } from 'vitest';
import { IamRateLimit } from '../../../local-stack/aws/rate-limit.js';
import { clients, failure, useEmulator } from './helpers.js';

const MEMBER = '222222222222';
const emulator = useEmulator({ memberAccountIds: [MEMBER] });

afterEach(() => emulator().setIamRateLimit(undefined));

async function admin(method: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${emulator().endpoint}/__admin/rate-limits/iam`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('IAM token buckets', () => {
  it('admits a burst, then refills at the rate, one bucket per action', () => {
    let now = 0;
    const limit = new IamRateLimit(() => now);
    limit.admit('ListUsers'); // off until configured
    limit.configure({
      ratePerSecond: 2,
      burst: 3,
      actions: { CreateAccessKey: { ratePerSecond: 1, burst: 1 } },
    });
    for (let i = 0; i < 3; i += 1) limit.admit('ListUsers');
    expect(() => limit.admit('ListUsers')).toThrow(
      expect.objectContaining({ code: 'Throttling', status: 400 }),
    );
    limit.admit('GetUser');
    limit.admit('CreateAccessKey');
    expect(() => limit.admit('CreateAccessKey')).toThrow('Rate exceeded');
    now += 500; // one ListUsers token back, half a CreateAccessKey token
    limit.admit('ListUsers');
    expect(() => limit.admit('ListUsers')).toThrow('Rate exceeded');
    expect(() => limit.admit('CreateAccessKey')).toThrow('Rate exceeded');
    now += 10_000; // never more than the burst
    for (let i = 0; i < 3; i += 1) limit.admit('ListUsers');
    expect(() => limit.admit('ListUsers')).toThrow('Rate exceeded');
    expect(limit.describe().throttled).toEqual({ CreateAccessKey: 2, ListUsers: 3 });
  });
});

describe('IAM rate limit on the emulator', () => {
  it('is off by default', async () => {
    expect(await admin('GET')).toEqual({ status: 200, json: { settings: null, throttled: {} } });
    const { iam } = clients(emulator());
    await Promise.all(Array.from({ length: 30 }, () => iam.send(new ListUsersCommand({}))));
    expect(emulator().iamThrottles()).toEqual({});
  });

  it('answers a burst beyond the bucket with IAM’s Throttling (400, Rate exceeded)', async () => {
    emulator().setIamRateLimit({ ratePerSecond: 0.1, burst: 3 });
    const { iam } = clients(emulator());
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => iam.send(new ListUsersCommand({}))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const errors = await Promise.all(
      results.flatMap((r) => (r.status === 'rejected' ? [failure(Promise.reject(r.reason))] : [])),
    );
    expect(errors).toHaveLength(5);
    for (const error of errors) {
      expect(error).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', Type: 'Sender' });
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
    // Another action has a bucket of its own.
    await expect(iam.send(new GetUserCommand({}))).resolves.toBeDefined();
    expect(emulator().iamThrottles()).toEqual({ ListUsers: 5 });
  });

  it('lets the SDK’s own retries (standard mode, throttling back-off) recover from throttling', async () => {
    emulator().setIamRateLimit({ ratePerSecond: 20, burst: 2 });
    const iam = new IAMClient({
      endpoint: emulator().endpoint,
      region: emulator().region,
      credentials: emulator().adminCredentials,
      maxAttempts: 6,
    });
    const responses = await Promise.all(Array.from({ length: 10 }, () => iam.send(new ListUsersCommand({}))));
    const attempts = responses.map((r) => r.$metadata.attempts ?? 1);
    const retried = attempts.reduce((sum, n) => sum + n - 1, 0);
    expect(retried).toBeGreaterThanOrEqual(8);
    expect(emulator().iamThrottles().ListUsers).toBe(retried);
  });

  it('is set, read and lifted through the admin API, which refuses bad settings', async () => {
    expect(await admin('PUT', { ratePerSecond: 0, burst: 1 })).toMatchObject({ status: 400 });
    expect(await admin('PUT', { ratePerSecond: 1, burst: 1, rate: 2 })).toMatchObject({ status: 400 });
    const settings = {
      ratePerSecond: 0.1,
      burst: 1,
      actions: { ListUsers: { ratePerSecond: 0.1, burst: 2 } },
    };
    expect(await admin('PUT', settings)).toEqual({ status: 200, json: { settings, throttled: {} } });
    const { iam } = clients(emulator());
    await iam.send(new GetUserCommand({}));
    expect((await failure(iam.send(new GetUserCommand({})))).name).toBe('Throttling');
    await iam.send(new ListUsersCommand({}));
    await iam.send(new ListUsersCommand({}));
    expect(await admin('GET')).toEqual({ status: 200, json: { settings, throttled: { GetUser: 1 } } });
    expect(await admin('DELETE')).toEqual({ status: 200, json: { settings: null, throttled: {} } });
    await expect(iam.send(new GetUserCommand({}))).resolves.toBeDefined();
  });
});

describe('IAM rate limit per account', () => {
  it('throttles each account on its own: two accounts have twice the capacity of one', async () => {
    emulator().setIamRateLimit({ ratePerSecond: 0.1, burst: 3 });
    const home = clients(emulator()).iam;
    const member = clients(emulator(), emulator().account(MEMBER).adminCredentials).iam;
    const burst = (iam: IAMClient) =>
      Promise.allSettled(Array.from({ length: 5 }, () => iam.send(new ListUsersCommand({}))));
    const [atHome, inMember] = await Promise.all([burst(home), burst(member)]);
    const admitted = (results: PromiseSettledResult<unknown>[]) =>
      results.filter((r) => r.status === 'fulfilled').length;
    expect([admitted(atHome), admitted(inMember)]).toEqual([3, 3]);
    // The counts add up over the accounts.
    expect(emulator().iamThrottles()).toEqual({ ListUsers: 4 });
  });
});
