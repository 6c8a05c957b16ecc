import { parseEnvironment } from './environment.js';
import * as z from './zod.js';
import { DEFAULT_IN_USE_MARGIN_SECONDS } from './credential-refresh.js';
import { ConfigurationError } from './errors.js';
import { belowFloors, FloorSettings, type Floors, MAX_WAIT_SECONDS } from './input.js';
import { type VaultConfig, VaultEnv, vaultConfig } from './vault/config.js';

const seconds = (fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(MAX_WAIT_SECONDS)), fallback);
/** What deactivateOld does when the old key is still being used after the new key was stored. */
export type OldKeyInUsePolicy = 'wait' | 'proceed' | 'fail';

export { MAX_WAIT_SECONDS };

const RotatorEnv = z.object({
  AWS_REGION: z.string().check(z.minLength(1)),
  ROTATOR_KMS_KEY_ID: z.string().check(z.minLength(1)),
  ROTATOR_GRACE_SECONDS: seconds(900),
  ROTATOR_RECOVERY_SECONDS: seconds(86_400),
  ROTATOR_OLD_KEY_IN_USE: z._default(z.enum(['wait', 'proceed', 'fail']), 'wait'),
  ROTATOR_IN_USE_RECHECK_SECONDS: seconds(900),
  ROTATOR_IN_USE_MARGIN_SECONDS: seconds(DEFAULT_IN_USE_MARGIN_SECONDS),
  ROTATOR_IN_USE_MAX_WAIT_SECONDS: seconds(86_400),
  ROTATOR_MIN_GRACE_SECONDS: FloorSettings.shape.minGraceSeconds,
  ROTATOR_MIN_RECOVERY_SECONDS: FloorSettings.shape.minRecoverySeconds,
  ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: FloorSettings.shape.allowOldKeyInUseProceed,
  ROTATOR_ALLOW_VAULT_PATH_MOVE: FloorSettings.shape.allowVaultPathMove,
  ROTATOR_ALLOW_DELETE_INACTIVE_KEY: FloorSettings.shape.allowDeleteInactiveKey,
  ROTATOR_ALLOW_VAULT_PATH_ADOPT: FloorSettings.shape.allowVaultPathAdopt,
  /** The HMAC keys that sign the rotator's user tags: the pin (verifyKey writes) and the claim (createKey writes). */
  ROTATOR_PIN_KEY_ID: z.string().check(z.minLength(1)),
  ROTATOR_CLAIM_KEY_ID: z.string().check(z.minLength(1)),
  ROTATOR_AWS_TIMEOUT_MS: z._default(
    z.coerce.number().check(z.int(), z.minimum(100), z.maximum(60_000)),
    10_000,
  ),
});
const Env = z.extend(RotatorEnv, VaultEnv.shape);

export interface Config {
  region: string;
  kmsKeyId: string;
  /** The HMAC_256 KMS keys that sign the pin and the claim tags. */
  tagKeys: { pin: string; claim: string };
  awsTimeoutMs: number;
  defaults: {
    graceSeconds: number;
    recoverySeconds: number;
    oldKeyInUse: OldKeyInUsePolicy;
    inUseRecheckSeconds: number;
  };
  /** What execution input may ask for at least (waits) or at most (the in-use policy). */
  floors: Floors;
  /** An old key used later than this after the new key was stored is still in use. */
  inUse: { marginSeconds: number; maxWaitSeconds: number };
  vault: VaultConfig;
}

/** Validates the environment; throws ConfigurationError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const e = parseEnvironment(Env, env);
  const floors: Floors = {
    minGraceSeconds: e.ROTATOR_MIN_GRACE_SECONDS,
    minRecoverySeconds: e.ROTATOR_MIN_RECOVERY_SECONDS,
    allowOldKeyInUseProceed: e.ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED,
    allowVaultPathMove: e.ROTATOR_ALLOW_VAULT_PATH_MOVE,
    allowDeleteInactiveKey: e.ROTATOR_ALLOW_DELETE_INACTIVE_KEY,
    allowVaultPathAdopt: e.ROTATOR_ALLOW_VAULT_PATH_ADOPT,
  };
  // The deployment's own defaults obey its floors, or every input without the field would pass below them.
  const ownDefaults = {
    ROTATOR_GRACE_SECONDS: { graceSeconds: e.ROTATOR_GRACE_SECONDS },
    ROTATOR_RECOVERY_SECONDS: { recoverySeconds: e.ROTATOR_RECOVERY_SECONDS },
    ROTATOR_OLD_KEY_IN_USE: { oldKeyInUse: e.ROTATOR_OLD_KEY_IN_USE },
  };
  const unsafe = Object.entries(ownDefaults).flatMap(([variable, value]) =>
    belowFloors(value, floors).map((problem) => `${variable}: ${problem}`),
  );
  if (unsafe.length > 0) throw new ConfigurationError(`invalid environment: ${unsafe.join('; ')}`);
  return {
    region: e.AWS_REGION,
    kmsKeyId: e.ROTATOR_KMS_KEY_ID,
    tagKeys: { pin: e.ROTATOR_PIN_KEY_ID, claim: e.ROTATOR_CLAIM_KEY_ID },
    awsTimeoutMs: e.ROTATOR_AWS_TIMEOUT_MS,
    defaults: {
      graceSeconds: e.ROTATOR_GRACE_SECONDS,
      recoverySeconds: e.ROTATOR_RECOVERY_SECONDS,
      oldKeyInUse: e.ROTATOR_OLD_KEY_IN_USE,
      inUseRecheckSeconds: e.ROTATOR_IN_USE_RECHECK_SECONDS,
    },
    floors,
    inUse: {
      marginSeconds: e.ROTATOR_IN_USE_MARGIN_SECONDS,
      maxWaitSeconds: e.ROTATOR_IN_USE_MAX_WAIT_SECONDS,
    },
    vault: vaultConfig(e),
  };
}

/** Only the floors of an environment (the local stack publishes them as the rotator's tags). */
export function floorsFromEnv(env: NodeJS.ProcessEnv): Floors {
  return z.parse(FloorSettings, {
    minGraceSeconds: env.ROTATOR_MIN_GRACE_SECONDS,
    minRecoverySeconds: env.ROTATOR_MIN_RECOVERY_SECONDS,
    allowOldKeyInUseProceed: env.ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED,
    allowVaultPathMove: env.ROTATOR_ALLOW_VAULT_PATH_MOVE,
    allowDeleteInactiveKey: env.ROTATOR_ALLOW_DELETE_INACTIVE_KEY,
    allowVaultPathAdopt: env.ROTATOR_ALLOW_VAULT_PATH_ADOPT,
  });
}

let cached: Config | undefined;

/** The configuration, read from the environment once per Lambda container. */
export function config(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
