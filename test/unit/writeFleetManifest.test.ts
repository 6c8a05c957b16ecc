import { describe, expect, it } from 'vitest';
import type { FleetManifest } from '../../functions/writeFleetManifest.js';
import {
  EXECUTION,
  FLEET_BUCKET,
  FLEET_BUCKET_ENV,
  FLEET_KEY_ARN,
  rejectionOf,
  useFakeS3,
  useHandler,
} from './support.js';

const { deployment } = useHandler<FleetManifest>(() => import('../../functions/writeFleetManifest.js'));
const { bucket } = useFakeS3();

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const D = '444444444444';

describe('writeFleetManifest', () => {
  it('names each account’s due users once, in the order listed, and counts them; accounts with none or not listed are left out', async () => {
    const write = await deployment(FLEET_BUCKET_ENV);
    const listed = [
      { accountId: A, due: 3 },
      { accountId: B, due: 0 },
      { accountId: C, error: 'TargetAccountAccessError' },
      { accountId: D, due: 1200 },
    ];
    expect(await write({ execution: EXECUTION, listed })).toEqual({
      manifestKey: 'runs/run-1/due.manifest',
      due: 1203,
    });
    expect(bucket.text('runs/run-1/due.manifest')).toBe(
      `s3://${FLEET_BUCKET}/runs/run-1/due/${A}.jsonl\ns3://${FLEET_BUCKET}/runs/run-1/due/${D}.jsonl\n`,
    );
    expect(bucket.objects.get('runs/run-1/due.manifest')?.put).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: FLEET_KEY_ARN,
      BucketKeyEnabled: true,
    });
    // A retried invocation writes the same object.
    await write({ execution: EXECUTION, listed });
    expect(bucket.objects.size).toBe(1);
  });

  it('nothing due: an empty manifest and 0, which the machine’s AnyDue sends straight to Summarize', async () => {
    const write = await deployment(FLEET_BUCKET_ENV);
    expect(await write({ execution: EXECUTION, listed: [{ accountId: A, due: 0 }] })).toEqual({
      manifestKey: 'runs/run-1/due.manifest',
      due: 0,
    });
    expect(bucket.text('runs/run-1/due.manifest')).toBe('');
  });

  it('refuses an event the machine does not send, and a deployment without the bucket’s key', async () => {
    const write = await deployment(FLEET_BUCKET_ENV);
    for (const event of [
      { execution: EXECUTION },
      { execution: EXECUTION, listed: [{ accountId: 'x', due: 1 }] },
      { execution: EXECUTION, listed: [{ accountId: A, due: -1 }] },
      { listed: [] },
    ]) {
      expect((await rejectionOf(write(event))).name, JSON.stringify(event)).toBe('InvalidInputError');
    }
    for (const [env, variable] of [
      [{}, 'ROTATOR_FLEET_BUCKET'],
      [{ ROTATOR_FLEET_BUCKET: FLEET_BUCKET }, 'ROTATOR_FLEET_BUCKET_KEY_ID'],
    ] as const) {
      const unset = await deployment(env);
      const error = await rejectionOf(unset({ execution: EXECUTION, listed: [] }));
      expect(error.name).toBe('ConfigurationError');
      expect(error.message).toContain(`${variable}:`);
    }
    expect(bucket.objects.size).toBe(0);
  });
});
