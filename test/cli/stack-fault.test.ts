import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CreateAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';

const BIN = 'bin/iam-key-rotator.mjs';

describe('iam-key-rotator stack --fault', () => {
  it('arms the faults on the running stack; the admin route lists and clears them', async () => {
    const child = spawn(process.execPath, [BIN, 'stack', '--fault', 'iam:CreateAccessKey:AccessDeniedx1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error('stack exited before it was ready')));
      });
      const ready = JSON.parse(line) as Record<string, string>;
      const admin = `${ready.awsEndpoint}/__admin/faults`;
      const listed = (await (await fetch(admin)).json()) as { faults: { spec: { operation: string } }[] };
      expect(listed.faults.map((f) => f.spec.operation)).toEqual(['CreateAccessKey']);
      expect(stderr).toContain(`clear them: curl -X DELETE ${admin}`);

      const iam = new IAMClient({
        region: ready.region,
        endpoint: ready.awsEndpoint,
        credentials: { accessKeyId: ready.accessKeyId ?? '', secretAccessKey: ready.secretAccessKey ?? '' },
        maxAttempts: 1,
      });
      const create = () => iam.send(new CreateAccessKeyCommand({ UserName: ready.demoUser }));
      await expect(create()).rejects.toMatchObject({ name: 'AccessDenied' });

      // Added and cleared at run time, as the help says.
      await fetch(admin, {
        method: 'POST',
        body: JSON.stringify({ spec: 'iam:CreateAccessKey:AccessDeniedx1' }),
      });
      await fetch(admin, { method: 'DELETE' });
      expect(((await (await fetch(admin)).json()) as { faults: unknown[] }).faults).toEqual([]);
      expect((await create()).AccessKey?.UserName).toBe(ready.demoUser);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it.each([
    [['--fault', 'iam:CreateAccessKey'], "invalid fault spec 'iam:CreateAccessKey'"],
    [['--fault', 'ec2:RunInstances:AccessDenied'], "invalid fault spec 'ec2:RunInstances:AccessDenied'"],
    [['--propagation-ms', 'soon'], "--propagation-ms must be a whole number of milliseconds, not 'soon'"],
    [['--wait-scale=-1'], '--wait-scale must be a number >= 0'],
    [['demo'], 'demo'],
  ])('stack %j: exit 2 naming it, before anything starts', async (args, message) => {
    const refused = await runCliInProcess(['stack', ...args]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(message);
    expect(refused.stdout).toBe('');
  });

  it('--help says how to add, list and clear faults on the running stack', async () => {
    const help = await runCliInProcess(['stack', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--fault SPEC');
    expect(help.stdout).toContain('curl -X POST <awsEndpoint>/__admin/faults -d \'{"spec":');
    expect(help.stdout).toContain('curl -X DELETE <awsEndpoint>/__admin/faults');
  });
});
