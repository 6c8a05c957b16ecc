import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// custom.rotations is checked at package time against the execution input schema and the
// deployment's floors (deploy/schedules.cjs), so a bad entry never reaches a schedule.
type Schedules = (sls: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown[]>;
const schedules = createRequire(import.meta.url)('../../deploy/schedules.cjs') as Schedules;

/** A resolveVariable that knows custom.rotations and these params, and applies `, fallback`. */
function resolver(rotations: unknown, params: Record<string, unknown> = {}) {
  return async (variable: string) => {
    const [name = '', fallback] = variable.split(/\s*,\s*/);
    if (name === 'self:custom.rotations') return rotations;
    if (name === 'self:service') return 'iam-key-rotator';
    if (name === 'sls:stage') return 'dev';
    const param = /^param:(\w+)$/.exec(name)?.[1];
    if (param && param in params) return params[param];
    if (fallback !== undefined) return JSON.parse(fallback) as unknown;
    throw new Error(`cannot resolve ${variable}`);
  };
}

const run = (rotations: unknown, params?: Record<string, unknown>) =>
  schedules({ resolveVariable: resolver(rotations, params) });

describe('scheduled rotations (deploy/schedules.cjs)', () => {
  it('builds one schedule per entry carrying its execution input', async () => {
    await expect(
      run([
        { userName: 'ci', schedule: 'rate(7 days)' },
        { userName: 'b', graceSeconds: 300, enabled: false },
      ]),
    ).resolves.toEqual([
      {
        schedule: {
          rate: 'rate(7 days)',
          enabled: true,
          input: { userName: 'ci' },
          name: 'iam-key-rotator-dev-rotation-0',
          role: { 'Fn::GetAtt': ['RotationScheduleRole', 'Arn'] },
        },
      },
      {
        schedule: {
          rate: '${self:custom.defaultSchedule}',
          enabled: false,
          input: { userName: 'b', graceSeconds: 300 },
          name: 'iam-key-rotator-dev-rotation-1',
          role: { 'Fn::GetAtt': ['RotationScheduleRole', 'Arn'] },
        },
      },
    ]);
  });

  it('refuses an entry with an unknown field, naming the entry and the field', async () => {
    await expect(run([{ userName: 'ci' }, { userName: 'vendor', gracePeriod: 600 }])).rejects.toThrow(
      'invalid scheduled rotation(s): custom.rotations[1] (vendor): (input): unknown field(s) gracePeriod',
    );
  });

  it('refuses an entry carrying a fleet task token, which only the fleet machine hands out', async () => {
    await expect(run([{ userName: 'ci', fleetTaskToken: 'token' }])).rejects.toThrow(
      'custom.rotations[0] (ci): (input): unknown field(s) fleetTaskToken',
    );
  });

  it('refuses an entry below the deployment’s floors, naming the entry, the field and the floor', async () => {
    await expect(run([{ userName: 'ci', graceSeconds: 60 }])).rejects.toThrow(
      "custom.rotations[0] (ci): graceSeconds 60 is below this deployment's minGraceSeconds 300",
    );
    await expect(run([{ userName: 'ci', oldKeyInUse: 'proceed' }])).rejects.toThrow(
      'custom.rotations[0] (ci): oldKeyInUse "proceed" is not allowed',
    );
  });

  it('applies the floors the deployment parameters set', async () => {
    const params = { minGraceSeconds: 0, minRecoverySeconds: '0', allowOldKeyInUseProceed: 'true' };
    const entry = { userName: 'ci', graceSeconds: 0, recoverySeconds: 0, oldKeyInUse: 'proceed' };
    await expect(run([entry], params)).resolves.toHaveLength(1);
    await expect(run([{ userName: 'ci', graceSeconds: 600 }], { minGraceSeconds: 900 })).rejects.toThrow(
      "graceSeconds 600 is below this deployment's minGraceSeconds 900",
    );
  });

  it('refuses moveVaultPath and deleteInactiveKey unless the deployment parameters allow them', async () => {
    const entry = {
      userName: 'ci',
      vaultPath: 'aws/iam-users/ci/v2',
      moveVaultPath: true,
      deleteInactiveKey: true,
    };
    const error = await run([entry]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(
      "custom.rotations[0] (ci): moveVaultPath is not allowed: this deployment's allowVaultPathMove is false",
    );
    expect((error as Error).message).toContain(
      "custom.rotations[0] (ci): deleteInactiveKey is not allowed: this deployment's allowDeleteInactiveKey is false",
    );
    const allowed = { allowVaultPathMove: true, allowDeleteInactiveKey: 'true' };
    await expect(run([entry], allowed)).resolves.toHaveLength(1);
    await expect(
      run([{ ...entry, oldKeyInUse: 'proceed' }], { ...allowed, allowOldKeyInUseProceed: true }),
    ).rejects.toThrow('moveVaultPath is not allowed with oldKeyInUse "proceed"');
    await expect(run([], { allowDeleteInactiveKey: 'yes' })).rejects.toThrow('param allowDeleteInactiveKey');
  });

  it('refuses adoptVaultPath unless the deployment parameters allow it (allowVaultPathAdopt)', async () => {
    const entry = { userName: 'vendor-x', vaultPath: 'aws/iam-users/vendors/vendor-x', adoptVaultPath: true };
    await expect(run([entry])).rejects.toThrow(
      "custom.rotations[0] (vendor-x): adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false",
    );
    await expect(run([entry], { allowVaultPathAdopt: 'true' })).resolves.toHaveLength(1);
    await expect(run([entry], { allowVaultPathAdopt: true })).resolves.toHaveLength(1);
    await expect(run([], { allowVaultPathAdopt: 'yes' })).rejects.toThrow('param allowVaultPathAdopt');
  });

  it('refuses malformed floors instead of reading them as 0', async () => {
    await expect(run([], { minGraceSeconds: '' })).rejects.toThrow('param minGraceSeconds');
    await expect(run([], { allowOldKeyInUseProceed: 'yes' })).rejects.toThrow(
      'param allowOldKeyInUseProceed',
    );
  });

  it('names every bad entry and field at once, and wrong types too', async () => {
    const error = await run([{ userName: 'a b' }, null, { userName: 'ok', dryRun: 'no' }]).catch(
      (e: unknown) => e as Error,
    );
    expect(String(error)).toMatch(
      /custom\.rotations\[0\] \(a b\): userName: .*custom\.rotations\[1\]: userName/,
    );
    expect(String(error)).toContain('custom.rotations[2] (ok): dryRun');
  });

  it('makes `serverless package` fail on a bad entry, with the entry and the field named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iam-key-rotator-schedules-'));
    try {
      // The service as it is, with two bad entries in custom.rotations.
      const yml = await readFile('serverless.yml', 'utf8');
      const bad = yml.replace(
        /\n {2}rotations:\n(?: {4}.*\n)+/,
        '\n  rotations:\n    - userName: ci-deployer\n      graceSeconds: 10\n    - userName: vendor-sync\n      gracePeriod: 3600\n',
      );
      expect(bad).not.toBe(yml);
      await writeFile(join(dir, 'serverless.yml'), bad);
      // Everything serverless.yml may reference, without the dependencies (linked) and build output.
      for (const entry of await readdir('.')) {
        if (['node_modules', '.git', '.serverless', '.esbuild', 'serverless.yml'].includes(entry)) continue;
        await cp(entry, join(dir, entry), { recursive: true });
      }
      await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'));
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^AWS_/.test(k)));
      const failure = await promisify(execFile)(
        process.execPath,
        [
          join(process.cwd(), 'node_modules/osls/bin/serverless.js'),
          'package',
          '--package',
          join(dir, 'out'),
        ],
        {
          cwd: dir,
          env: { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
          timeout: 120_000,
        },
      ).then(
        () => undefined,
        (error: unknown) => error as { code: number; stdout: string; stderr: string },
      );
      expect(failure, 'serverless package succeeded').toBeDefined();
      const output = `${failure?.stdout ?? ''}${failure?.stderr ?? ''}`;
      expect(output).toContain(
        "custom.rotations[0] (ci-deployer): graceSeconds 10 is below this deployment's minGraceSeconds 600",
      );
      expect(output).toContain('custom.rotations[1] (vendor-sync): (input): unknown field(s) gracePeriod');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
