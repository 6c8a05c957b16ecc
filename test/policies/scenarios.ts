import { expect } from 'vitest';
import type { SeededUser } from '../../local-stack/provision.js';
import { expectRolledBack, expectRotated, type PolicyLab, type Report, uniqueUser } from './support.js';

/**
 * IAM never makes the new key visible, so STS refuses it: VerifyKey gives up and the rotation
 * rolls back. (A fault on sts:GetCallerIdentity would also hit a Vault login, which happens or
 * not depending on the token the handlers' process holds.)
 */
async function neverValid(lab: PolicyLab, user: SeededUser): Promise<Report> {
  lab.stack.aws.setPropagationMs(3_600_000);
  try {
    return await lab.rotate(user);
  } finally {
    lab.stack.aws.setPropagationMs(0);
  }
}

export interface Scenario {
  name: string;
  kv: 1 | 2;
  /** Runs one rotation of a fresh user; throws when the outcome is not the expected one. */
  run(lab: PolicyLab): Promise<void>;
}

/**
 * The fewest rotations that make every grant of every function's policy do something: removing
 * any one of them turns at least one of these outcomes into another (test/policies/mutation).
 */
export const SCENARIOS: Scenario[] = [
  {
    name: 'happy path',
    kv: 2,
    async run(lab) {
      const user = await lab.seed(uniqueUser('happy'));
      expectRotated(await lab.rotate(user), user);
    },
  },
  {
    name: 'verification fails: rollback',
    kv: 2,
    async run(lab) {
      const user = await lab.seed(uniqueUser('unverified'));
      expectRolledBack(await neverValid(lab, user), 'VerificationFailed');
    },
  },
  {
    name: 'KV v1, verification fails: the previous secret is unsealed and written back',
    kv: 1,
    async run(lab) {
      const user = await lab.seed(uniqueUser('kv1-unverified'));
      expectRolledBack(await neverValid(lab, user), 'VerificationFailed');
    },
  },
  {
    name: 'the CreateAccessKey response is lost: the retry removes the orphan',
    kv: 2,
    async run(lab) {
      const user = await lab.seed(uniqueUser('lost-create'));
      expectRotated(await lab.rotate(user, { faults: ['iam:CreateAccessKey:after-commit'] }), user);
    },
  },
  {
    name: 'every CreateAccessKey response is lost: DiscardLeftovers deletes the last attempt’s key',
    kv: 2,
    async run(lab) {
      const user = await lab.seed(uniqueUser('lost-every-create'));
      const report = await lab.rotate(user, { faults: ['iam:CreateAccessKey:after-commitx10'] });
      expect(report.error?.Error, report.error?.Cause).toBe('AwsUnavailableError');
      expect(report.error?.Cause).not.toContain('DiscardLeftovers could not');
      expect(report.after.accessKeys).toEqual(report.before.accessKeys);
      expect(report.after.vault).toEqual(report.before.vault);
    },
  },
  {
    name: 'the vaultPath serves another user’s key: refused naming its owner',
    kv: 2,
    async run(lab) {
      const owner = await lab.seed(uniqueUser('path-owner'));
      const user = await lab.seed(uniqueUser('path-borrower'));
      const report = await lab.rotate(user, {
        input: { userName: user.userName, vaultPath: owner.vaultPath },
      });
      expect(report.error?.Error).toBe('InvalidInputError');
      expect(report.error?.Cause).toContain(`'${owner.userName}'`);
      expect(report.after).toEqual(report.before);
    },
  },
];
