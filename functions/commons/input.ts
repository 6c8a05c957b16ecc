import { z } from 'zod';

/** Step Functions' Wait states accept up to a year; a rotation that waits longer is a mistake. */
export const MAX_WAIT_SECONDS = 30 * 24 * 3600;

/** IAM's user-name rule: 1 to 64 of letters, digits and `+=,.@_-`. */
export const UserName = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 + = , . @ _ -');

const SEGMENT = /^[\w.@+=,-]+$/;

/**
 * A relative Vault path: non-empty segments, no `.` or `..`, no leading or trailing slash. At most
 * 256 characters: the user tag that pins the path holds no more.
 */
export const VaultPath = z
  .string()
  .max(256)
  .refine(
    (path) =>
      path.split('/').every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..'),
    'must be segments of A-Z a-z 0-9 . @ + = , _ - separated by single slashes, without . or ..',
  );

const WaitSeconds = z.number().int().min(0).max(MAX_WAIT_SECONDS);
const OldKeyInUse = z.enum(['wait', 'proceed', 'fail']);

/** What a schedule, the console or the CLI passes to an execution. Unknown fields are refused. */
export const ExecutionInput = z
  .object({
    userName: UserName,
    vaultPath: VaultPath.optional(),
    dryRun: z.boolean().default(false),
    graceSeconds: WaitSeconds.optional(),
    recoverySeconds: WaitSeconds.optional(),
    /** Lets createKey delete an Inactive key (never the one Vault holds) to make room under IAM's quota. */
    deleteInactiveKey: z.boolean().default(false),
    /** When the old key is still used after the new key was stored: wait and re-check, proceed, or fail. */
    oldKeyInUse: OldKeyInUse.optional(),
    /** Serve the key at a vaultPath other than the one the user is pinned to, on purpose. */
    moveVaultPath: z.boolean().default(false),
    /**
     * Set by the fleet machine: the task token its Map iteration waits on. Read only by the signal
     * states (from `$$.Execution.Input`) and reportToFleet; never copied into the request or logged.
     */
    fleetTaskToken: z.string().min(1).max(2048).optional(),
  })
  .strict();
export type ExecutionInput = z.infer<typeof ExecutionInput>;

/** What a deployment lets execution input ask for: no input may shorten the windows below these. */
export interface Floors {
  minGraceSeconds: number;
  minRecoverySeconds: number;
  allowOldKeyInUseProceed: boolean;
}

/** The floors of a deployment that sets none. */
export const DEFAULT_FLOORS: Floors = {
  minGraceSeconds: 300,
  minRecoverySeconds: 3600,
  allowOldKeyInUseProceed: false,
};

/** A floor in seconds, as an environment variable or a deployment parameter gives it: digits only. */
export const FloorSeconds = z
  .union([z.number(), z.string()])
  .transform(String)
  .pipe(z.string().regex(/^\d+$/, 'must be a whole number of seconds'))
  .transform(Number)
  .pipe(WaitSeconds);

/** A floor switch: `true` or `false` only, so a typo means neither. */
export const FloorFlag = z
  .union([z.boolean(), z.enum(['true', 'false'])])
  .transform((value) => value === true || value === 'true');

/** A deployment's floors from its parameters (serverless.yml's minGraceSeconds...), defaults filled in. */
export const FloorSettings = z.object({
  minGraceSeconds: FloorSeconds.default(DEFAULT_FLOORS.minGraceSeconds),
  minRecoverySeconds: FloorSeconds.default(DEFAULT_FLOORS.minRecoverySeconds),
  allowOldKeyInUseProceed: FloorFlag.default(DEFAULT_FLOORS.allowOldKeyInUseProceed),
});

/**
 * Where the waits and the in-use policy (of an input, or a deployment's own defaults) go below the
 * deployment's floors, one message per field; empty when they do not. Shared by ValidateInput, the
 * deployment's configuration and the package-time check of scheduled rotations.
 */
export function belowFloors(
  values: { graceSeconds?: number; recoverySeconds?: number; oldKeyInUse?: string },
  floors: Floors,
): string[] {
  const problems: string[] = [];
  const { graceSeconds, recoverySeconds, oldKeyInUse } = values;
  if (graceSeconds !== undefined && graceSeconds < floors.minGraceSeconds) {
    problems.push(
      `graceSeconds ${graceSeconds} is below this deployment's minGraceSeconds ${floors.minGraceSeconds}`,
    );
  }
  if (recoverySeconds !== undefined && recoverySeconds < floors.minRecoverySeconds) {
    problems.push(
      `recoverySeconds ${recoverySeconds} is below this deployment's minRecoverySeconds ${floors.minRecoverySeconds}`,
    );
  }
  if (oldKeyInUse === 'proceed' && !floors.allowOldKeyInUseProceed) {
    problems.push(`oldKeyInUse "proceed" is not allowed: this deployment's allowOldKeyInUseProceed is false`);
  }
  return problems;
}

/** The validated request every later step receives. */
export const Request = z.object({
  userName: UserName,
  vaultPath: VaultPath,
  dryRun: z.boolean(),
  graceSeconds: WaitSeconds,
  recoverySeconds: WaitSeconds,
  deleteInactiveKey: z.boolean(),
  oldKeyInUse: OldKeyInUse,
  /** Executions started before the flag existed carry none. */
  moveVaultPath: z.boolean().default(false),
  /** How long to wait before checking again whether an old key is still in use. */
  inUseRecheckSeconds: WaitSeconds,
  /** Present (true) when a fleet started the execution and waits for its signal. */
  fleet: z.literal(true).optional(),
  execution: z.string().min(1),
  startedAt: z.iso.datetime({ offset: true }),
});
export type Request = z.infer<typeof Request>;
