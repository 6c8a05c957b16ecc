import * as z from './zod.js';
import { Request } from './input.js';

/** Vault's current version before the rotation (0: never written) and the key id it served, if any. */
export const VaultBefore = z.object({
  version: z.number().check(z.int(), z.minimum(0)),
  accessKeyId: z.nullable(z.string()),
  /** KV v1 keeps no old versions: the previous value, sealed, so a rollback can write it back. */
  sealedPrevious: z.optional(z.object({ ciphertext: z.string() })),
});
export type VaultBefore = z.infer<typeof VaultBefore>;

/** createKey's result: ids, dates and the sealed secret only. */
export const Created = z.object({
  dryRun: z.literal(false),
  userArn: z.string(),
  accessKeyId: z.string(),
  createDate: z.string(),
  sealedSecret: z.object({ ciphertext: z.string() }),
  /** Keys that existed before this execution: the only keys deactivateOld and deleteOld may touch. */
  oldAccessKeyIds: z.array(z.string()),
  hasOldKeys: z.boolean(),
  /** Inactive keys createKey deleted to make room (deleteInactiveKey). */
  removedInactiveKeyIds: z.array(z.string()),
  vaultBefore: VaultBefore,
  /**
   * The Vault path the user was pinned to before (null: never pinned), or for a user never pinned
   * that a move takes from its default path, that path; verifyKey pins the request's path once its
   * key is verified and reports a move. Absent in executions started before pins existed.
   */
  pinnedVaultPath: z.optional(z.nullable(z.string())),
  /** Whether that pin carried the rotator's signature; verifyKey signs the path it pins otherwise. */
  pinSigned: z.optional(z.boolean()),
  /** IAM's id of the user, which the signed pin names; absent in executions started before pins were signed. */
  userId: z.optional(z.string()),
});
export type Created = z.infer<typeof Created>;

/** createKey's result in a dry run: what a rotation would do. */
export const DryRunPlan = z.object({
  dryRun: z.literal(true),
  userArn: z.string(),
  existingAccessKeyIds: z.array(z.string()),
  wouldRemoveInactiveKeyIds: z.array(z.string()),
  vaultBefore: VaultBefore,
});
export type DryRunPlan = z.infer<typeof DryRunPlan>;

/** storeInVault's result. */
export const Stored = z.object({
  version: z.number().check(z.int(), z.minimum(1)),
  previousVersion: z.number().check(z.int(), z.minimum(0)),
  /** True when Vault already held the key (a re-run after a lost response). */
  alreadyStored: z.boolean(),
  /** When Vault was found to serve the new key: consumers can switch from then on. */
  storedAt: z.iso.datetime(),
});
export type Stored = z.infer<typeof Stored>;

export const CreateKeyEvent = z.object({ request: Request });
/** discardLeftovers' event: CreateKey's own input (its Catch keeps it) and its error's name. */
export const LeftoversEvent = z.object({ request: Request, failedWith: z.string() });
export const StoreEvent = z.object({ request: Request, created: Created });
export const VerifyEvent = z.object({ request: Request, created: Created, stored: Stored });
/** The event of the rollback steps and deleteOld: the request and the new key. */
export const NewKeyEvent = z.object({ request: Request, created: Created });
export const DeactivateEvent = z.object({ request: Request, created: Created, stored: Stored });
