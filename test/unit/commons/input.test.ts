import { describe, expect, it } from 'vitest';
import {
  belowFloors,
  DEFAULT_FLOORS,
  ExecutionInput,
  Request,
  UserName,
  VaultPath,
} from '../../../functions/commons/input.js';
import { MAX_WAIT_SECONDS } from '../../../functions/commons/config.js';
import { makeRequest } from '../support.js';

describe('UserName', () => {
  it.each(['a', 'alice', 'svc.deploy+ci=1,x@example_org-2', 'a'.repeat(64)])('accepts %j', (name) => {
    expect(UserName.safeParse(name).success).toBe(true);
  });

  it.each(['', 'a'.repeat(65), 'alice smith', 'alice/bob', 'ålice', 'a;b', 'a\n'])('rejects %j', (name) => {
    expect(UserName.safeParse(name).success).toBe(false);
  });
});

describe('VaultPath', () => {
  it.each(['aws/iam-users/alice', 'a', 'team.a/x@y/+=,_-'])('accepts %j', (path) => {
    expect(VaultPath.safeParse(path).success).toBe(true);
  });

  it.each([
    '',
    '/aws/alice',
    'aws/alice/',
    'aws//alice',
    'aws/../alice',
    '..',
    'aws/./alice',
    'aws/al ice',
    'aws/alice?version=1',
    'aws/alice#x',
    'aws\\alice',
    'a'.repeat(257),
  ])('rejects %j', (path) => {
    expect(VaultPath.safeParse(path).success).toBe(false);
  });
});

describe('belowFloors', () => {
  const floors = DEFAULT_FLOORS;

  it('names nothing for values at or above the floors, or absent', () => {
    expect(belowFloors({}, floors)).toEqual([]);
    expect(belowFloors({ graceSeconds: 300, recoverySeconds: 3600, oldKeyInUse: 'wait' }, floors)).toEqual(
      [],
    );
  });

  it('names each field below its floor with the floor', () => {
    expect(belowFloors({ graceSeconds: 0, recoverySeconds: 3599, oldKeyInUse: 'proceed' }, floors)).toEqual([
      "graceSeconds 0 is below this deployment's minGraceSeconds 300",
      "recoverySeconds 3599 is below this deployment's minRecoverySeconds 3600",
      'oldKeyInUse "proceed" is not allowed: this deployment\'s allowOldKeyInUseProceed is false',
    ]);
  });

  it('lets a deployment allow proceed and zero waits', () => {
    const open = { ...floors, minGraceSeconds: 0, minRecoverySeconds: 0, allowOldKeyInUseProceed: true };
    expect(belowFloors({ graceSeconds: 0, recoverySeconds: 0, oldKeyInUse: 'proceed' }, open)).toEqual([]);
  });

  it('refuses moveVaultPath and deleteInactiveKey unless the deployment allows them, naming the flag', () => {
    expect(belowFloors({ moveVaultPath: false, deleteInactiveKey: false }, floors)).toEqual([]);
    expect(belowFloors({ moveVaultPath: true, deleteInactiveKey: true }, floors)).toEqual([
      "moveVaultPath is not allowed: this deployment's allowVaultPathMove is false",
      "deleteInactiveKey is not allowed: this deployment's allowDeleteInactiveKey is false",
    ]);
    const open = { ...floors, allowVaultPathMove: true, allowDeleteInactiveKey: true };
    expect(belowFloors({ moveVaultPath: true, deleteInactiveKey: true, oldKeyInUse: 'wait' }, open)).toEqual(
      [],
    );
  });

  it('refuses adoptVaultPath unless the deployment allows it, naming the flag', () => {
    expect(belowFloors({ adoptVaultPath: false }, floors)).toEqual([]);
    expect(belowFloors({ adoptVaultPath: true }, floors)).toEqual([
      "adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false",
    ]);
    expect(belowFloors({ adoptVaultPath: true }, { ...floors, allowVaultPathAdopt: true })).toEqual([]);
  });

  it('refuses moveVaultPath with oldKeyInUse "proceed" even where both are allowed', () => {
    const open = { ...floors, allowVaultPathMove: true, allowOldKeyInUseProceed: true };
    expect(belowFloors({ moveVaultPath: true, oldKeyInUse: 'proceed' }, open)).toEqual([
      'moveVaultPath is not allowed with oldKeyInUse "proceed": the old path\'s consumers may still use the old key',
    ]);
  });
});

describe('ExecutionInput', () => {
  it('fills in dryRun, deleteInactiveKey, moveVaultPath and adoptVaultPath as false', () => {
    expect(ExecutionInput.parse({ userName: 'alice' })).toEqual({
      userName: 'alice',
      dryRun: false,
      deleteInactiveKey: false,
      moveVaultPath: false,
      adoptVaultPath: false,
    });
  });

  it('refuses unknown fields', () => {
    expect(ExecutionInput.safeParse({ userName: 'alice', dryrun: true }).success).toBe(false);
  });

  it.each([-1, 1.5, MAX_WAIT_SECONDS + 1, '60'])('refuses graceSeconds %j', (value) => {
    expect(ExecutionInput.safeParse({ userName: 'alice', graceSeconds: value }).success).toBe(false);
  });

  it('accepts wait times from 0 to MAX_WAIT_SECONDS', () => {
    const parsed = ExecutionInput.parse({
      userName: 'alice',
      graceSeconds: 0,
      recoverySeconds: MAX_WAIT_SECONDS,
    });
    expect(parsed).toMatchObject({ graceSeconds: 0, recoverySeconds: MAX_WAIT_SECONDS });
  });

  it.each(['wait', 'proceed', 'fail'])('accepts oldKeyInUse %j', (policy) => {
    expect(ExecutionInput.parse({ userName: 'alice', oldKeyInUse: policy }).oldKeyInUse).toBe(policy);
  });

  it('refuses an unknown oldKeyInUse policy', () => {
    expect(ExecutionInput.safeParse({ userName: 'alice', oldKeyInUse: 'ignore' }).success).toBe(false);
  });

  it('refuses a non-boolean dryRun', () => {
    expect(ExecutionInput.safeParse({ userName: 'alice', dryRun: 'true' }).success).toBe(false);
  });
});

describe('Request', () => {
  it('accepts a complete request', () => {
    expect(Request.safeParse(makeRequest()).success).toBe(true);
  });

  it('requires an ISO date-time with offset for startedAt', () => {
    expect(Request.safeParse(makeRequest({ startedAt: '2024-05-01T12:00:00+02:00' })).success).toBe(true);
    expect(Request.safeParse(makeRequest({ startedAt: 'yesterday' })).success).toBe(false);
  });

  it('requires the old-key-in-use policy and recheck interval', () => {
    const withoutPolicy: Partial<Request> = makeRequest();
    delete withoutPolicy.oldKeyInUse;
    expect(Request.safeParse(withoutPolicy).success).toBe(false);
    expect(Request.safeParse(makeRequest({ inUseRecheckSeconds: -1 })).success).toBe(false);
  });

  it('requires a non-empty execution', () => {
    expect(Request.safeParse(makeRequest({ execution: '' })).success).toBe(false);
  });
});
