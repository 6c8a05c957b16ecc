import { AccountId } from './accounts.js';
import * as z from './zod.js';

/** Step Functions' Wait states accept up to a year; a rotation that waits longer is a mistake. */
export const MAX_WAIT_SECONDS = 30 * 24 * 3600;

/** IAM's user-name rule: 1 to 64 of letters, digits and `+=,.@_-`. */
export const UserName = z
  .string()
  .check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 + = , . @ _ -'));

const SEGMENT = /^[\w.@+=,-]+$/;

/**
 * A relative Vault path: non-empty segments, no `.` or `..`, no leading or trailing slash. At most
 * 256 characters: the user tag that pins the path holds no more.
 */
export const VaultPath = z.string().check(
  z.maxLength(256),
  z.refine(
    (path) =>
      path.split('/').every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..'),
    'must be segments of A-Z a-z 0-9 . @ + = , _ - separated by single slashes, without . or ..',
  ),
);

/**
 * The default Vault path: the template with {prefix}, {userName} and the user's {accountId} filled in
 * (ValidateInput's, and the local stack's when it seeds a user's key where the rotator will look).
 */
export function defaultPath(
  template: string,
  values: Record<'prefix' | 'userName' | 'accountId', string>,
): string {
  return template.replace(/\{(prefix|userName|accountId)\}/g, (_, name: keyof typeof values) => values[name]);
}

/** A path the rotator may serve a key at: VaultPath's rules, strictly below the deployment's prefix. */
export function isServablePath(path: string, prefix: string): boolean {
  return VaultPath.safeParse(path).success && path.startsWith(prefix) && path !== prefix;
}

const WaitSeconds = z.number().check(z.int(), z.minimum(0), z.maximum(MAX_WAIT_SECONDS));
const OldKeyInUse = z.enum(['wait', 'proceed', 'fail']);

/** What a schedule, the console or the CLI passes to an execution. Unknown fields are refused. */
export const ExecutionInput = z.strictObject({
  userName: UserName,
  /** The account the user is in; default: the rotator's own. Another one must be allowed by the deployment. */
  accountId: z.optional(AccountId),
  vaultPath: z.optional(VaultPath),
  dryRun: z._default(z.boolean(), false),
  graceSeconds: z.optional(WaitSeconds),
  recoverySeconds: z.optional(WaitSeconds),
  /** Lets createKey delete an Inactive key (never the one Vault holds) to make room under IAM's quota. */
  deleteInactiveKey: z._default(z.boolean(), false),
  /** When the old key is still used after the new key was stored: wait and re-check, proceed, or fail. */
  oldKeyInUse: z.optional(OldKeyInUse),
  /** Serve the key at a vaultPath other than the one the user is pinned to, on purpose. */
  moveVaultPath: z._default(z.boolean(), false),
  /**
   * Serve the key of a user never pinned at a vaultPath that does not serve one of its Active keys
   * today: the operator vouches that the user's consumers read it there.
   */
  adoptVaultPath: z._default(z.boolean(), false),
  /**
   * Set by the fleet machine: the task token its Map iteration waits on. Read only by the signal
   * states (from `$$.Execution.Input`) and reportToFleet; never copied into the request or logged.
   */
  fleetTaskToken: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});
export type ExecutionInput = z.infer<typeof ExecutionInput>;

/** What a deployment lets execution input ask for: no input may shorten the windows below these. */
export interface Floors {
  minGraceSeconds: number;
  minRecoverySeconds: number;
  allowOldKeyInUseProceed: boolean;
  /** Lets input move a pinned user's key to another Vault path (moveVaultPath). */
  allowVaultPathMove: boolean;
  /** Lets input have createKey delete an Inactive key (deleteInactiveKey), maybe another execution's rollback key. */
  allowDeleteInactiveKey: boolean;
  /** Lets input serve an unpinned user's key at a path nothing proves its consumers read (adoptVaultPath). */
  allowVaultPathAdopt: boolean;
}

/** The floors of a deployment that sets none. */
export const DEFAULT_FLOORS: Floors = {
  minGraceSeconds: 300,
  minRecoverySeconds: 3600,
  allowOldKeyInUseProceed: false,
  allowVaultPathMove: false,
  allowDeleteInactiveKey: false,
  allowVaultPathAdopt: false,
};

/** A floor in seconds, as an environment variable or a deployment parameter gives it: digits only. */
const Digits = z.string().check(z.regex(/^\d+$/, 'must be a whole number of seconds'));
export const FloorSeconds = z.pipe(
  z.pipe(z.pipe(z.pipe(z.union([z.number(), z.string()]), z.transform(String)), Digits), z.transform(Number)),
  WaitSeconds,
);

/** A floor switch: `true` or `false` only, so a typo means neither. */
export const FloorFlag = z.pipe(
  z.union([z.boolean(), z.enum(['true', 'false'])]),
  z.transform((value) => value === true || value === 'true'),
);

/** A deployment's floors from its parameters (serverless.yml's minGraceSeconds...), defaults filled in. */
export const FloorSettings = z.object({
  minGraceSeconds: z._default(FloorSeconds, DEFAULT_FLOORS.minGraceSeconds),
  minRecoverySeconds: z._default(FloorSeconds, DEFAULT_FLOORS.minRecoverySeconds),
  allowOldKeyInUseProceed: z._default(FloorFlag, DEFAULT_FLOORS.allowOldKeyInUseProceed),
  allowVaultPathMove: z._default(FloorFlag, DEFAULT_FLOORS.allowVaultPathMove),
  allowDeleteInactiveKey: z._default(FloorFlag, DEFAULT_FLOORS.allowDeleteInactiveKey),
  allowVaultPathAdopt: z._default(FloorFlag, DEFAULT_FLOORS.allowVaultPathAdopt),
});

/**
 * Where the waits and the in-use policy (of an input, or a deployment's own defaults) go below the
 * deployment's floors, one message per field; empty when they do not. Shared by ValidateInput, the
 * deployment's configuration and the package-time check of scheduled rotations.
 */
export function belowFloors(
  values: {
    graceSeconds?: number;
    recoverySeconds?: number;
    oldKeyInUse?: string;
    moveVaultPath?: boolean;
    deleteInactiveKey?: boolean;
    adoptVaultPath?: boolean;
  },
  floors: Floors,
): string[] {
  const problems: string[] = [];
  const { graceSeconds, recoverySeconds, oldKeyInUse, moveVaultPath, deleteInactiveKey, adoptVaultPath } =
    values;
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
  if (moveVaultPath === true && !floors.allowVaultPathMove) {
    problems.push(`moveVaultPath is not allowed: this deployment's allowVaultPathMove is false`);
  }
  // The old path's consumers still read the old key after a move: it must not be retired while in use.
  if (moveVaultPath === true && oldKeyInUse === 'proceed') {
    problems.push(
      `moveVaultPath is not allowed with oldKeyInUse "proceed": the old path's consumers may still use the old key`,
    );
  }
  if (deleteInactiveKey === true && !floors.allowDeleteInactiveKey) {
    problems.push(`deleteInactiveKey is not allowed: this deployment's allowDeleteInactiveKey is false`);
  }
  if (adoptVaultPath === true && !floors.allowVaultPathAdopt) {
    problems.push(`adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false`);
  }
  return problems;
}

/** The validated request every later step receives. */
export const Request = z.object({
  userName: UserName,
  /** The user's account; validateInput always sets it, executions started before accounts carry none (own account). */
  accountId: z.optional(AccountId),
  vaultPath: VaultPath,
  /** Where the path template puts the user's key (vaultPath without the input's); absent in older executions. */
  defaultVaultPath: z.optional(VaultPath),
  dryRun: z.boolean(),
  graceSeconds: WaitSeconds,
  recoverySeconds: WaitSeconds,
  deleteInactiveKey: z.boolean(),
  oldKeyInUse: OldKeyInUse,
  /** Executions started before the flag existed carry none. */
  moveVaultPath: z._default(z.boolean(), false),
  /** Executions started before the flag existed carry none. */
  adoptVaultPath: z._default(z.boolean(), false),
  /** How long to wait before checking again whether an old key is still in use. */
  inUseRecheckSeconds: WaitSeconds,
  /** Present (true) when a fleet started the execution and waits for its signal. */
  fleet: z.optional(z.literal(true)),
  execution: z.string().check(z.minLength(1)),
  startedAt: z.iso.datetime({ offset: true }),
});
export type Request = z.infer<typeof Request>;
