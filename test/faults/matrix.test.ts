import { beforeEach, describe, expect, it, vi } from 'vitest';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import {
  expectAllFired,
  expectFailure,
  expectNamedError,
  expectSuccess,
  rotateRecordingFaults,
} from '../support/scenarios.js';

// Short client timeouts: a `timeout` fault costs about 0.3 s per attempt.
const ctx = useLocalStack({ env: { ROTATOR_AWS_TIMEOUT_MS: '300', VAULT_TIMEOUT_MS: '300' } });

// Every case is a cold start (fresh handler modules: config, SDK clients, Vault token), so each
// rotation logs in to Vault and the n-th call of an operation is the same call in every case.
//
// The calls of a rotation of a user with one old key, by step (`@n`: n-th call of that operation):
//   CreateKey      iam:GetUser@1, vault:login@1 (Vault forwards sts:GetCallerIdentity@1),
//                  vault:kv-read@1, iam:ListAccessKeys@1, iam:TagUser@1, iam:CreateAccessKey@1, kms:Encrypt@1
//   StoreInVault   vault:kv-read@2, kms:Decrypt@1, vault:kv-write@1, vault:kv-metadata@1
//   VerifyKey      vault:kv-read@3, sts:GetCallerIdentity@2, iam:TagUser@2 (the pin: users here are unpinned)
//   DeactivateOld  vault:kv-read@4, iam:ListAccessKeys@2, iam:GetAccessKeyLastUsed@1, iam:UpdateAccessKey@1
//   DeleteOld      vault:kv-read@5, iam:ListAccessKeys@3, iam:DeleteAccessKey@1
//   rollback       RestoreVault: vault:kv-read (current, then previous version), vault:kv-write;
//                  DiscardNewKey: vault:kv-read, iam:DeleteAccessKey
// A Vault 403 makes the client log in again and repeat the call once, so a permanent 403 is `403x2`.

type Expected =
  | { kind: 'succeeds' }
  | { kind: 'fails'; error: string; end: string }
  /** Timeouts and lost responses: SUCCEEDED, or a named failure; invariants either way. */
  | { kind: 'converges' };

const ok: Expected = { kind: 'succeeds' };
const converges: Expected = { kind: 'converges' };
const fails = (error: string, end: string): Expected => ({ kind: 'fails', error, end });

type Category = 'transient' | 'permanent' | 'timeout' | 'after-commit' | 'rollback';

interface Scenario {
  step: string;
  category: Category;
  faults: string[];
  expected: Expected;
}

const s = (step: string, category: Category, faults: string | string[], expected: Expected): Scenario => ({
  step,
  category,
  faults: typeof faults === 'string' ? [faults] : faults,
  expected,
});

const CREATE_FAILED = 'CreateKeyFailed';
const RETIREMENT_FAILED = 'RetirementFailed';

const SCENARIOS: Scenario[] = [
  // ---- CreateKey ----
  s('CreateKey', 'transient', 'iam:GetUser:Throttlingx2', ok),
  s('CreateKey', 'transient', 'iam:GetUser:ServiceUnavailablex4', ok),
  s('CreateKey', 'transient', 'iam:GetUser:500x3', ok),
  s('CreateKey', 'permanent', 'iam:GetUser:AccessDenied', fails('UserNotFoundError', CREATE_FAILED)),
  s('CreateKey', 'timeout', 'iam:GetUser:timeout', ok),
  s('CreateKey', 'after-commit', 'iam:GetUser:after-commit', ok),
  s('CreateKey', 'transient', 'vault:login:503x2', ok),
  s('CreateKey', 'transient', 'vault:login:500', ok),
  s('CreateKey', 'transient', 'vault:login:429', ok),
  s('CreateKey', 'permanent', 'vault:login:403', fails('VaultAwsLoginError', CREATE_FAILED)),
  s('CreateKey', 'permanent', 'vault:login:400', fails('VaultAwsLoginError', CREATE_FAILED)),
  s('CreateKey', 'timeout', 'vault:login:timeout', ok),
  s('CreateKey', 'after-commit', 'vault:login:after-commit', ok),
  s('CreateKey', 'transient', 'sts:GetCallerIdentity:Throttling@1', ok),
  s('CreateKey', 'transient', 'sts:GetCallerIdentity:ServiceUnavailable@1', ok),
  s(
    'CreateKey',
    'permanent',
    // Behind Vault's login an STS AccessDenied is not a passing failure: the login is refused at once.
    'sts:GetCallerIdentity:AccessDeniedx20@1',
    fails('VaultAwsLoginError', CREATE_FAILED),
  ),
  s('CreateKey', 'timeout', 'sts:GetCallerIdentity:timeout@1', ok),
  s('CreateKey', 'transient', 'vault:kv-read:503x2@1', ok),
  s('CreateKey', 'transient', 'vault:kv-read:429@1', ok),
  s('CreateKey', 'permanent', 'vault:kv-read:403x2@1', fails('VaultPermissionDeniedError', CREATE_FAILED)),
  s('CreateKey', 'permanent', 'vault:kv-read:400@1', fails('VaultRequestError', CREATE_FAILED)),
  s('CreateKey', 'timeout', 'vault:kv-read:timeout@1', ok),
  s('CreateKey', 'transient', 'iam:ListAccessKeys:ServiceUnavailablex4@1', ok),
  s('CreateKey', 'permanent', 'iam:ListAccessKeys:AccessDenied@1', fails('AwsRequestError', CREATE_FAILED)),
  s('CreateKey', 'transient', 'iam:TagUser:500x3', ok),
  s('CreateKey', 'permanent', 'iam:TagUser:AccessDenied', fails('AwsRequestError', CREATE_FAILED)),
  s('CreateKey', 'after-commit', 'iam:TagUser:after-commit', ok),
  s('CreateKey', 'transient', 'iam:CreateAccessKey:ServiceUnavailablex2', ok),
  s('CreateKey', 'transient', 'iam:CreateAccessKey:Throttling', ok),
  s('CreateKey', 'permanent', 'iam:CreateAccessKey:AccessDenied', fails('AwsRequestError', CREATE_FAILED)),
  s('CreateKey', 'timeout', 'iam:CreateAccessKey:timeout', ok),
  s('CreateKey', 'after-commit', 'iam:CreateAccessKey:after-commit', ok),
  s('CreateKey', 'after-commit', 'iam:CreateAccessKey:after-commitx2', ok),
  s('CreateKey', 'transient', 'kms:Encrypt:500x4', ok),
  s('CreateKey', 'transient', 'kms:Encrypt:ThrottlingException', ok),
  s('CreateKey', 'permanent', 'kms:Encrypt:AccessDeniedException', fails('AwsRequestError', CREATE_FAILED)),
  s('CreateKey', 'timeout', 'kms:Encrypt:timeoutx3', ok),
  s('CreateKey', 'after-commit', 'kms:Encrypt:after-commit', ok),
  // The key createKey removes after a sealing failure cannot be deleted at first: the retry finds it.
  s('CreateKey', 'transient', ['kms:Encrypt:AccessDeniedException', 'iam:DeleteAccessKey:500x3'], ok),

  // ---- StoreInVault ----
  s('StoreInVault', 'transient', 'vault:kv-read:503x2@2', ok),
  s('StoreInVault', 'permanent', 'vault:kv-read:403x2@2', fails('VaultWriteFailed', 'VaultWriteFailed')),
  s('StoreInVault', 'transient', 'kms:Decrypt:500x4', ok),
  s('StoreInVault', 'transient', 'kms:Decrypt:ThrottlingException', ok),
  s(
    'StoreInVault',
    'permanent',
    'kms:Decrypt:AccessDeniedException',
    fails('VaultWriteFailed', 'VaultWriteFailed'),
  ),
  s('StoreInVault', 'timeout', 'kms:Decrypt:timeout', ok),
  s('StoreInVault', 'after-commit', 'kms:Decrypt:after-commit', ok),
  s('StoreInVault', 'transient', 'vault:kv-write:503x2', ok),
  s('StoreInVault', 'transient', 'vault:kv-write:500', ok),
  s('StoreInVault', 'transient', 'vault:kv-write:429x3', ok),
  s('StoreInVault', 'permanent', 'vault:kv-write:403x2', fails('VaultWriteFailed', 'VaultWriteFailed')),
  s('StoreInVault', 'permanent', 'vault:kv-write:400', fails('VaultWriteFailed', 'VaultWriteFailed')),
  s('StoreInVault', 'timeout', 'vault:kv-write:timeout', ok),
  s('StoreInVault', 'after-commit', 'vault:kv-write:after-commit', ok),
  s('StoreInVault', 'transient', 'vault:kv-metadata:503x2', ok),
  s('StoreInVault', 'permanent', 'vault:kv-metadata:403x2', fails('VaultWriteFailed', 'VaultWriteFailed')),
  s('StoreInVault', 'permanent', 'vault:kv-metadata:400', fails('VaultWriteFailed', 'VaultWriteFailed')),
  s('StoreInVault', 'timeout', 'vault:kv-metadata:timeout', ok),
  s('StoreInVault', 'after-commit', 'vault:kv-metadata:after-commit', ok),

  // ---- VerifyKey ----
  s('VerifyKey', 'transient', 'vault:kv-read:503x2@3', ok),
  s('VerifyKey', 'permanent', 'vault:kv-read:403x2@3', fails('VerificationFailed', 'VerificationFailed')),
  s('VerifyKey', 'timeout', 'vault:kv-read:timeout@3', ok),
  s('VerifyKey', 'transient', 'sts:GetCallerIdentity:Throttling@2', ok),
  s('VerifyKey', 'transient', 'sts:GetCallerIdentity:ServiceUnavailablex2@2', ok),
  s('VerifyKey', 'transient', 'sts:GetCallerIdentity:500@2', ok),
  s(
    'VerifyKey',
    'permanent',
    'sts:GetCallerIdentity:AccessDenied@2',
    fails('VerificationFailed', 'VerificationFailed'),
  ),
  s('VerifyKey', 'timeout', 'sts:GetCallerIdentity:timeout@2', ok),
  s('VerifyKey', 'after-commit', 'sts:GetCallerIdentity:after-commit@2', ok),
  s('VerifyKey', 'transient', 'iam:TagUser:500x3@2', ok),
  s(
    'VerifyKey',
    'permanent',
    'iam:TagUser:AccessDenied@2',
    fails('VerificationFailed', 'VerificationFailed'),
  ),
  s('VerifyKey', 'after-commit', 'iam:TagUser:after-commit@2', ok),

  // ---- DeactivateOld ----
  s('DeactivateOld', 'transient', 'vault:kv-read:503x2@4', ok),
  s(
    'DeactivateOld',
    'permanent',
    'vault:kv-read:403x2@4',
    fails('VaultPermissionDeniedError', RETIREMENT_FAILED),
  ),
  s('DeactivateOld', 'transient', 'iam:ListAccessKeys:ServiceUnavailablex4@2', ok),
  s(
    'DeactivateOld',
    'permanent',
    'iam:ListAccessKeys:AccessDenied@2',
    fails('AwsRequestError', RETIREMENT_FAILED),
  ),
  s('DeactivateOld', 'transient', 'iam:GetAccessKeyLastUsed:Throttling', ok),
  s(
    'DeactivateOld',
    'permanent',
    'iam:GetAccessKeyLastUsed:AccessDenied',
    fails('AwsRequestError', RETIREMENT_FAILED),
  ),
  s('DeactivateOld', 'timeout', 'iam:GetAccessKeyLastUsed:timeout', ok),
  s('DeactivateOld', 'transient', 'iam:UpdateAccessKey:ServiceUnavailablex4', ok),
  s('DeactivateOld', 'transient', 'iam:UpdateAccessKey:500', ok),
  s(
    'DeactivateOld',
    'permanent',
    'iam:UpdateAccessKey:AccessDenied',
    fails('AwsRequestError', RETIREMENT_FAILED),
  ),
  s('DeactivateOld', 'timeout', 'iam:UpdateAccessKey:timeout', ok),
  s('DeactivateOld', 'after-commit', 'iam:UpdateAccessKey:after-commit', ok),

  // ---- DeleteOld ----
  s('DeleteOld', 'transient', 'vault:kv-read:503x2@5', ok),
  s(
    'DeleteOld',
    'permanent',
    'vault:kv-read:403x2@5',
    fails('VaultPermissionDeniedError', RETIREMENT_FAILED),
  ),
  s('DeleteOld', 'transient', 'iam:ListAccessKeys:Throttling@3', ok),
  s(
    'DeleteOld',
    'permanent',
    'iam:ListAccessKeys:AccessDenied@3',
    fails('AwsRequestError', RETIREMENT_FAILED),
  ),
  s('DeleteOld', 'transient', 'iam:DeleteAccessKey:ServiceUnavailablex4', ok),
  s(
    'DeleteOld',
    'permanent',
    'iam:DeleteAccessKey:AccessDenied',
    fails('AwsRequestError', RETIREMENT_FAILED),
  ),
  s('DeleteOld', 'timeout', 'iam:DeleteAccessKey:timeout', ok),
  s('DeleteOld', 'after-commit', 'iam:DeleteAccessKey:after-commit', ok),

  // ---- Rollback (a failed store or verification, then trouble in RestoreVault / DiscardNewKey) ----
  s(
    'RestoreVault',
    'rollback',
    ['vault:kv-write:403x2', 'vault:kv-read:503x2@3'],
    fails('VaultWriteFailed', 'VaultWriteFailed'),
  ),
  s(
    'DiscardNewKey',
    'rollback',
    ['vault:kv-write:403x2', 'iam:DeleteAccessKey:500x4'],
    fails('VaultWriteFailed', 'VaultWriteFailed'),
  ),
  s(
    'DiscardNewKey',
    'rollback',
    ['vault:kv-write:403x2', 'iam:DeleteAccessKey:after-commit'],
    fails('VaultWriteFailed', 'VaultWriteFailed'),
  ),
  s(
    'RestoreVault',
    'rollback',
    ['sts:GetCallerIdentity:AccessDenied@2', 'vault:kv-write:503x2@2'],
    fails('VerificationFailed', 'VerificationFailed'),
  ),
  s(
    'RestoreVault',
    'rollback',
    ['sts:GetCallerIdentity:AccessDenied@2', 'vault:kv-write:after-commit@2'],
    converges,
  ),
  // RestoreVault cannot put the old key back while Vault serves the new one: the new key stays, in Vault.
  s(
    'RestoreVault',
    'rollback',
    ['vault:kv-metadata:403x2', 'vault:kv-write:403x2@2'],
    fails('RollbackFailed', 'RollbackFailed'),
  ),
  s(
    'RestoreVault',
    'rollback',
    ['sts:GetCallerIdentity:AccessDenied@2', 'vault:kv-write:403x2@2'],
    fails('RollbackFailed', 'RollbackFailed'),
  ),
];

function expectation(expected: Expected): string {
  switch (expected.kind) {
    case 'succeeds':
      return 'SUCCEEDED';
    case 'converges':
      return 'converges';
    case 'fails':
      return expected.error === expected.end ? expected.error : `${expected.error} (${expected.end})`;
  }
}

const CASES = SCENARIOS.map((scenario) => ({
  ...scenario,
  name: `${scenario.faults.join(' + ')} → ${expectation(scenario.expected)}`,
}));

let seq = 0;

/** A case's worst legitimate run (three SDK attempts of 0.3 s plus backoff, then a state retry) is ~2 s. */
const DEADLINE_MS = 6_000;

describe('fault matrix: every external call of a rotation × transient / permanent / timeout / after-commit', () => {
  beforeEach(() => {
    vi.resetModules();
    ctx.stack.traffic.clearFaults();
  });

  it('covers every call of a rotation and every fault kind', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    const targets = new Set(CASES.flatMap((c) => c.faults.map((f) => f.split(':').slice(0, 2).join(':'))));
    for (const call of [
      'iam:GetUser',
      'iam:ListAccessKeys',
      'iam:TagUser',
      'iam:CreateAccessKey',
      'iam:DeleteAccessKey',
      'iam:UpdateAccessKey',
      'iam:GetAccessKeyLastUsed',
      'kms:Encrypt',
      'kms:Decrypt',
      'sts:GetCallerIdentity',
      'vault:login',
      'vault:kv-read',
      'vault:kv-write',
      'vault:kv-metadata',
    ]) {
      expect(targets, call).toContain(call);
    }
    const categories = new Set(CASES.map((c) => c.category));
    expect([...categories].sort()).toEqual(['after-commit', 'permanent', 'rollback', 'timeout', 'transient']);
  });

  it.each(CASES)('$step: $name', async ({ faults, expected }) => {
    const user = await ctx.seed(`matrix-${++seq}`);
    const { report, fired } = await rotateRecordingFaults(ctx, user, { faults, deadlineMs: DEADLINE_MS });

    expectAllFired(fired, faults);
    switch (expected.kind) {
      case 'succeeds':
        expectSuccess(report);
        break;
      case 'fails':
        expectFailure(report, expected.error, expected.end);
        break;
      case 'converges':
        if (report.status === 'FAILED') expectNamedError(report.error);
        break;
    }
    await expectInvariants(ctx, user, report);
  });
});
