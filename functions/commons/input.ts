import { z } from 'zod';
import { MAX_WAIT_SECONDS } from './config.js';

/** IAM's user-name rule: 1 to 64 of letters, digits and `+=,.@_-`. */
export const UserName = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 + = , . @ _ -');

const SEGMENT = /^[\w.@+=,-]+$/;

/** A relative Vault path: non-empty segments, no `.` or `..`, no leading or trailing slash. */
export const VaultPath = z
  .string()
  .max(512)
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
  })
  .strict();
export type ExecutionInput = z.infer<typeof ExecutionInput>;

/** The validated request every later step receives. */
export const Request = z.object({
  userName: UserName,
  vaultPath: VaultPath,
  dryRun: z.boolean(),
  graceSeconds: WaitSeconds,
  recoverySeconds: WaitSeconds,
  deleteInactiveKey: z.boolean(),
  oldKeyInUse: OldKeyInUse,
  /** How long to wait before checking again whether an old key is still in use. */
  inUseRecheckSeconds: WaitSeconds,
  execution: z.string().min(1),
  startedAt: z.iso.datetime({ offset: true }),
});
export type Request = z.infer<typeof Request>;
