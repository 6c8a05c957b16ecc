import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import type { RotationReport } from '../../local-stack/rotation.js';
import type { SharedMoto } from './support.js';

const run = promisify(execFile);

/** `npm start -- --aws-endpoint <moto>` as a user runs it: Vault token auth, the token in moto's Secrets Manager. */
export function cliCase(shared: () => SharedMoto): void {
  it('npm start -- --json --aws-endpoint <moto>: SUCCEEDED, the new key in Vault, the old key gone', async () => {
    const { server, admin, region } = shared();
    await server.setAuthorization(false);
    const { stdout, stderr } = await run(
      process.execPath,
      ['bin/iam-key-rotator.mjs', 'local', '--json', '--aws-endpoint', server.endpoint],
      {
        // Only what a user's shell gives: none of this process's rotator settings.
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          AWS_REGION: region,
          AWS_ACCESS_KEY_ID: admin.accessKeyId,
          AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
        },
        timeout: 30_000,
      },
    );
    expect(stderr).toContain(`(AWS ${server.endpoint}, Vault http://127.0.0.1:`);
    expect(stderr).toContain('KV v2, token auth)');
    const report = JSON.parse(stdout) as RotationReport;
    expect({ status: report.status, error: report.error }).toEqual({ status: 'SUCCEEDED', error: null });
    const oldKey = report.before.vault?.accessKeyId;
    expect(report.before.accessKeys.map((k) => k.accessKeyId)).toEqual([oldKey]);
    expect(report.after.accessKeys).toEqual([
      expect.objectContaining({ accessKeyId: report.after.vault?.accessKeyId, status: 'Active' }),
    ]);
    expect(report.after.vault?.accessKeyId).not.toBe(oldKey);
  });
}
