import { describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import { SCENARIOS } from './scenarios.js';
import { expectRolledBack, uniqueUser, usePolicyLab } from './support.js';

const lab = usePolicyLab();

describe('rotations under evaluated per-function policies', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))(
    '%s: ends as it should, with no call denied',
    async (_name, scenario) => {
      await lab().use(scenario.kv);
      lab().stack.aws.clearAuthorizationLog();
      await scenario.run(lab());
      expect(lab().stack.aws.denials()).toEqual([]);
    },
  );

  it('a Vault write that keeps failing rolls back: the new key is discarded', async () => {
    await lab().use(2);
    lab().stack.aws.clearAuthorizationLog();
    const user = await lab().seed(uniqueUser('vault-write-fails'));
    expectRolledBack(await lab().rotate(user, { faults: ['vault:kv-write:503x10'] }), 'VaultWriteFailed');
    expect(lab().stack.aws.denials()).toEqual([]);
  });

  it.each(['approle', 'token'] as const)(
    '%s auth: the Vault functions read the secret under their own roles, granted by the deployment settings',
    async (auth) => {
      await lab().use(2, auth);
      lab().stack.aws.clearAuthorizationLog();
      await SCENARIOS[0]?.run(lab());
      expect(lab().stack.aws.denials()).toEqual([]);
      const readers = lab()
        .stack.aws.allowedActions()
        .filter((a) => a.action === 'secretsmanager:GetSecretValue')
        .map((a) => a.roleArn);
      // The handlers share one Vault client (and token) per process: the first Vault function logs in for all.
      expect(readers.length).toBeGreaterThan(0);
      const vaultRoles = policies.VAULT_FUNCTIONS.map((fn) => lab().roleArn(fn));
      for (const reader of readers) expect(vaultRoles).toContain(reader);
    },
  );

  it('each function signs as its own role: the grants used are each role’s own', async () => {
    await lab().use(2);
    lab().stack.aws.clearAuthorizationLog();
    await SCENARIOS[0]?.run(lab());
    const used = lab().stack.aws.allowedActions();
    for (const fn of ['createKey', 'storeInVault', 'deactivateOld', 'deleteOld'] as const) {
      expect(used.some((u) => u.roleArn === lab().roleArn(fn))).toBe(true);
    }
    for (const { roleArn, action } of used) {
      const fn = policies.FUNCTIONS.find((f) => lab().roleArn(f) === roleArn);
      expect(fn, roleArn).toBeDefined();
      const granted = policies.FUNCTION_STATEMENTS[fn ?? 'validateInput'].flatMap((s) => s.Action ?? []);
      expect(granted, `${fn} ${action}`).toContain(action);
    }
  });
});
