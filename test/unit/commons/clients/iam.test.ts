import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type * as IamClients from '../../../../functions/commons/clients/iam.js';
import { FLEET_DEFINITION_PATH } from '../../../../local-stack/sfn/fleet.js';
import { setAwsAuthEnv } from '../../support.js';

// No AWS here: clients for another account assume its role only on their first call.
const OWN = '111111111111';
const OTHER = '222222222222';

let mod: typeof IamClients;

beforeAll(async () => {
  setAwsAuthEnv({
    ROTATOR_ACCOUNT_ID: OWN,
    ROTATOR_ALLOWED_ACCOUNT_IDS: OTHER,
    ROTATOR_TARGET_EXTERNAL_ID: 'org-7f3a:rotator',
  });
  vi.resetModules();
  mod = await import('../../../../functions/commons/clients/iam.js');
});

const target = (execution: string) => ({ accountId: OTHER, execution, step: 'deleteOld' as const });

describe('iamClients eviction', () => {
  it(`keeps the 16 most recently used other-account clients, closes a dropped one only after Lambda's 15 minutes, and keeps the own account's`, () => {
    vi.useFakeTimers();
    try {
      const own = mod.iamClients();
      const ownDestroyed = [vi.spyOn(own.iam, 'destroy'), vi.spyOn(own.iamOnce, 'destroy')];
      const first = mod.iamClients(target('run-0'));
      const firstDestroyed = [vi.spyOn(first.iam, 'destroy'), vi.spyOn(first.iamOnce, 'destroy')];
      const second = mod.iamClients(target('run-1'));
      const secondDestroyed = vi.spyOn(second.iam, 'destroy');

      for (let i = 2; i < mod.MAX_ASSUMED; i++) mod.iamClients(target(`run-${i}`));
      // 16 held: a known target gets its own clients back, and is now the most recently used.
      expect(mod.iamClients(target('run-0'))).toBe(first);

      mod.iamClients(target(`run-${mod.MAX_ASSUMED}`));
      // run-1 was the least recently used: dropped, made anew when asked again; run-0 kept.
      expect(mod.iamClients(target('run-0'))).toBe(first);
      // The dropped client may still be in use by this invocation: closed only after 15 minutes.
      expect(secondDestroyed).not.toHaveBeenCalled();
      vi.advanceTimersByTime(mod.CLOSE_DROPPED_AFTER_MS - 1);
      expect(secondDestroyed).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(secondDestroyed).toHaveBeenCalledOnce();
      for (const spy of firstDestroyed) expect(spy).not.toHaveBeenCalled();
      expect(mod.iamClients(target('run-1'))).not.toBe(second);

      for (let i = 100; i < 140; i++) mod.iamClients({ ...target(`run-${i}`), step: 'createKey' });
      vi.advanceTimersByTime(mod.CLOSE_DROPPED_AFTER_MS);
      for (const spy of firstDestroyed) expect(spy).toHaveBeenCalledOnce();
      for (const spy of ownDestroyed) expect(spy).not.toHaveBeenCalled();
      expect(mod.iamClients()).toBe(own);
      expect(mod.iamClients({ accountId: OWN, execution: 'run-0', step: 'createKey' })).toBe(own);
    } finally {
      vi.useRealTimers();
    }
  });

  // On the local stack every invocation shares one process: each account the fleet lists at once holds a client.
  it('holds more clients than the fleet machine lists accounts at once', () => {
    const fleet = JSON.parse(readFileSync(FLEET_DEFINITION_PATH, 'utf8')) as {
      States: { ListAccounts: { MaxConcurrency: number } };
    };
    expect(fleet.States.ListAccounts.MaxConcurrency).toBeGreaterThan(0);
    expect(fleet.States.ListAccounts.MaxConcurrency).toBeLessThan(mod.MAX_ASSUMED);
  });
});
