/**
 * What each error name an operator can meet means, the states that raise it, what it leaves behind
 * and what to do: the one source of docs/reference/errors.md (`npm run docs`) and of the CLI's
 * "left behind" lines. Prose for people, so no handler imports it (the Lambda bundles stay small).
 * An error class's own doc comment (errors.ts, vault/errors.ts) says what it means; a name that is no
 * class (a Fail state's Error, the operator's stop) says so in `means`.
 */
export interface ErrorGuide {
  /** For a name that is no error class: what it means. */
  means?: string;
  /** The states that raise it, as named in statemachine/*.asl.json. */
  raisedBy: string[];
  /** When and how, where the state names alone do not say (after retries, in another account). */
  note?: string;
  /** What an execution that ends with this error leaves behind. */
  leftBehind: string;
  /** The other places it shows up, or the several things it can mean, each with what is left. */
  cases?: string[];
  /** What the operator does. */
  whatToDo: string;
}

/** What DiscardLeftovers leaves after any CreateKey failure: in the cause only when it could not run. */
const LEFTOVERS =
  'DiscardLeftovers deleted any key CreateKey’s attempts created (a key created, then a later call failed); when it could not, the cause goes on with `DiscardLeftovers could not check for keys this execution created` and its error, and such a key may remain Active and not in Vault: delete a key of the user created since the execution started that Vault does not serve.';

const ROLLED_BACK_OR_NOT_RETIRED = [
  `CreateKey: no key created, or ${LEFTOVERS} The claim tags stay, and an Inactive key removed under \`deleteInactiveKey\` stays removed.`,
  'DeactivateOld or DeleteOld (`RetirementFailed`): the new key is in Vault and verified; an old key was not retired.',
];

const RETIRE_BY_HAND =
  'then start a new execution; after DeactivateOld or DeleteOld, retire the old key by hand (deactivate it, then delete it once its consumers use the new key).';

/** CreateKey, DeactivateOld or DeleteOld failing with an error that is not specific to the step. */
function stepFailed(whatToDo: string, extra: Partial<ErrorGuide> = {}): ErrorGuide {
  return {
    raisedBy: ['CreateKey', 'DeactivateOld', 'DeleteOld'],
    leftBehind: 'Nothing lost: the step failed before it changed what consumers read.',
    cases: ROLLED_BACK_OR_NOT_RETIRED,
    whatToDo,
    ...extra,
  };
}

const LISTING_FAILED =
  'ListCandidates (fleet, one invocation per account): that account is reported failed with the error and its message, none of its users started; the other accounts go on (`FleetRotationIncomplete`).';

const VAULT_LISTING_FAILED =
  'ListCandidates (fleet): Vault kept failing while a due user was placed; the account was listed again with the state’s retries, then reported failed after them with Vault’s answer in the cause; none of its users started, the other accounts go on (`FleetRotationIncomplete`).';

const FLEET_OBJECTS_FAILED = [
  'WriteManifest (fleet): the manifest of the due users could not be written to the fleet bucket: nothing started (Fail state `FleetNotStarted`).',
  'Summarize (fleet): the Map Run’s results or an account’s listing could not be read, or the summary written: the children ran, each rotation ends and alerts on its own (Fail state `SummaryUnavailable`).',
];

export const ERROR_TABLE: Record<string, ErrorGuide> = {
  InvalidInputError: {
    raisedBy: ['ValidateInput', 'CreateKey', 'PlanFleet', 'ListCandidates'],
    note: 'ValidateInput before any call, CreateKey before any write, PlanFleet before anything is listed.',
    leftBehind: 'Nothing changed.',
    cases: [
      'ValidateInput: the input breaks the schema or what the deployment allows (`minGraceSeconds`, `minRecoverySeconds`, `allowOldKeyInUseProceed`, `allowVaultPathMove`, `allowDeleteInactiveKey`, `allowVaultPathAdopt`; `moveVaultPath` with `oldKeyInUse: "proceed"` is always refused); the message names the floor or the flag.',
      'ValidateInput: the input names an `accountId` that is neither the deployment’s own account nor in `allowedAccountIds`; the message names the allowed accounts.',
      'ValidateInput (with `allowedAccountIds`): its `vaultPath`, given or from the template, takes another account’s user outside that account’s folder or an own-account user into another account’s folder (a user must never be served at another account’s path); the message names the folder.',
      'CreateKey: `vaultPath` serves another user’s key.',
      'CreateKey: the user is pinned elsewhere and the input does not set `moveVaultPath` (the message names both paths).',
      'CreateKey: the user was never pinned and `vaultPath` serves none of its Active keys (the message names the user, the path and what it serves): rotate with the path its consumers read, or adopt it with `adoptVaultPath` where `allowVaultPathAdopt` allows.',
      'CreateKey: the pin was changed outside the rotator (its MAC does not verify: alerted as POSSIBLE TAMPERING): look in CloudTrail for who tagged the user, remove both pin tags and rotate with the path the consumers read.',
      'CreateKey: the pin names a path that serves none of the user’s Active keys (a stale or replayed pin).',
      'CreateKey: the user’s `iam-key-rotator:vault-path` tag names no path below the prefix, or (with `allowedAccountIds`) a path the folder rules refuse: correct or remove the tag.',
      'PlanFleet: a bad fleet input (an `accountIds` entry not allowed too, or a `maxDuePerAccount` above the deployment’s); nothing listed or started (Fail state `FleetNotStarted`).',
      'ListCandidates: a user whose path cannot be proven or whose pin was changed is not started; the others go on (`FleetRotationIncomplete`).',
      'ListCandidates: a user whose name or path the input rules refuse (a quote or a backslash would break the child’s input) is not started; the others go on (`FleetRotationIncomplete`).',
    ],
    whatToDo:
      'Read the message: it names the field, floor, flag, account, folder or path. Fix the input (or the tag) and start again.',
  },
  ConfigurationError: {
    raisedBy: ['ValidateInput', 'CreateKey', 'PlanFleet'],
    note: 'Raised by the first step that reads the bad setting: ValidateInput for the floors, the waits, the accounts and the path template (every execution fails there, before any call); the first Vault step for Vault’s settings (before any write); PlanFleet for the fleet bucket and `maxDuePerAccount` (nothing listed or started).',
    leftBehind: 'Nothing changed.',
    whatToDo:
      'The message names the variable. Fix the deployment parameter (docs/reference/parameters.md) and deploy again.',
  },
  UserNotFoundError: {
    raisedBy: ['CreateKey'],
    leftBehind:
      'Nothing changed: the user does not exist, or IAM refused `iam:GetUser` (AccessDenied): a user that does not exist has no path, so the path-scoped policy refuses it; or the user is outside the deployment’s `userPath`, or createKey’s role may not read it.',
    whatToDo: 'Check the user name, that it is under `userPath`, and createKey’s role.',
  },
  TooManyAccessKeysError: {
    raisedBy: ['CreateKey'],
    leftBehind: 'Nothing changed: the user already has two keys.',
    whatToDo:
      'Delete one, or, where the deployment sets `allowDeleteInactiveKey: true`, pass `deleteInactiveKey: true` to let the rotator delete an Inactive key Vault does not hold.',
  },
  ConcurrentRotationError: {
    raisedBy: ['CreateKey'],
    leftBehind: 'Nothing changed: another execution’s new key is not stored yet.',
    cases: [
      'DiscardLeftovers deletes nothing then: the user’s claim is the other execution’s.',
      'Two executions started in the same instant and a lost CreateAccessKey response: the execution whose claim was overwritten cannot tell its lost key from the other’s, so it leaves it. That key stays Active, not in Vault, and is named in the error (and in the next execution’s, for 15 minutes).',
    ],
    whatToDo:
      'Nothing, usually: the other execution goes on. If the error names a key left behind, delete that key.',
  },
  VaultDataError: {
    raisedBy: ['CreateKey', 'RestoreVault', 'ListCandidates'],
    leftBehind:
      'CreateKey: nothing changed: the secret at `vaultPath` has no `access_key`/`secret_key` strings (another shape, or `VAULT_FIELD_*` not matching it), or there is no KV engine at the mount.',
    cases: [
      'RestoreVault (the execution ends `RollbackFailed`): the earlier KV v2 version no longer holds the old key, or the sealed KV v1 copy is not a JSON object. It writes nothing: Vault still serves the new key, which stays Active, and the old key is untouched.',
      'ListCandidates (fleet): the user’s path holds no key pair; that user is not started, the others go on.',
    ],
    whatToDo: 'Fix the path or the field names, then start again.',
  },
  AwsUnavailableError: stepFailed(`Start again later; ${RETIRE_BY_HAND}`, {
    raisedBy: ['CreateKey', 'DeactivateOld', 'DeleteOld', 'ListCandidates', 'WriteManifest', 'Summarize'],
    note: 'After the retries. In another account, `sts:AssumeRole` throttled or failing with a 5xx is `AwsUnavailableError` too, retried like the others.',
    cases: [...ROLLED_BACK_OR_NOT_RETIRED, LISTING_FAILED, ...FLEET_OBJECTS_FAILED],
  }),
  AwsRequestError: stepFailed(
    `The message names the refused action: fix the role or the resource, ${RETIRE_BY_HAND}`,
    {
      raisedBy: ['CreateKey', 'DeactivateOld', 'DeleteOld', 'ListCandidates', 'WriteManifest', 'Summarize'],
      cases: [
        ...ROLLED_BACK_OR_NOT_RETIRED,
        LISTING_FAILED,
        'ListCandidates, for one user (IAM would not list its tags or keys): that user is not started, the others go on.',
        ...FLEET_OBJECTS_FAILED,
      ],
    },
  ),
  VaultUnavailableError: stepFailed(
    `Fix Vault (a standby's redirect: point \`vaultAddr\` at the active node or a load balancer), ${RETIRE_BY_HAND}`,
    {
      raisedBy: ['CreateKey', 'DeactivateOld', 'DeleteOld', 'ListCandidates'],
      note: 'After the retries.',
      cases: [...ROLLED_BACK_OR_NOT_RETIRED, VAULT_LISTING_FAILED],
    },
  ),
  VaultPermissionDeniedError: stepFailed(
    `Give the reader or writer Vault policy the path (\`vault/*.hcl\`), ${RETIRE_BY_HAND}`,
  ),
  VaultAwsLoginError: stepFailed(
    `Check the Vault role, its bound ARN and the server id header, ${RETIRE_BY_HAND}`,
  ),
  VaultAppRoleLoginError: stepFailed(`Check the AppRole role_id and its secret_id secret, ${RETIRE_BY_HAND}`),
  VaultTokenSourceError: stepFailed(`Put the token in its secret or parameter, ${RETIRE_BY_HAND}`),
  SealedSecretError: {
    raisedBy: ['StoreInVault', 'RestoreVault'],
    note: 'A sealed secret in the execution’s state cannot be opened: another encryption context, key or ciphertext.',
    leftBehind:
      'StoreInVault: rolled back (`VaultWriteFailed`). RestoreVault: nothing written (`RollbackFailed`).',
    whatToDo:
      'Check the sealing key’s policy and whether someone edited the execution’s state; see those two names.',
  },
  VaultLoginUpstreamError: {
    raisedBy: ['CreateKey', 'DeactivateOld', 'DeleteOld', 'ListCandidates'],
    note: 'After the retries. Vault’s own call to STS for an AWS IAM login kept failing in a way that may pass (STS throttling or 5xx, or a role so new that STS does not know it yet); the step was retried like `VaultUnavailableError`.',
    leftBehind: 'Nothing lost.',
    cases: [
      'CreateKey: no key created, as for `AwsUnavailableError`.',
      'DeactivateOld or DeleteOld: the new key is in Vault and verified, no old key was retired.',
      VAULT_LISTING_FAILED,
    ],
    whatToDo: 'Start a new execution later. Check Vault’s `sts_endpoint`/`sts_region` and STS’s health.',
  },
  VaultRequestError: {
    raisedBy: ['CreateKey', 'StoreInVault', 'VerifyKey', 'DeactivateOld', 'DeleteOld', 'RestoreVault'],
    note: 'Not retried. A request over the client’s 1 MiB bound is refused before it is sent (`EREQUESTTOOLARGE`).',
    leftBehind:
      'As for the step’s other errors: see `VaultWriteFailed`, `VerificationFailed`, `RollbackFailed`.',
    cases: ROLLED_BACK_OR_NOT_RETIRED,
    whatToDo: 'The message names the method, the path, the status and Vault’s errors: fix what it says.',
  },
  VaultCasConflictError: {
    raisedBy: ['StoreInVault'],
    note: 'The cause of `VaultWriteFailed`: someone else wrote the path between CreateKey’s read and the write.',
    leftBehind: 'New key deleted, Vault serves what the other writer wrote, old key untouched.',
    whatToDo: 'Find the other writer, then start again.',
  },
  TargetAccountAccessError: {
    raisedBy: [
      'CreateKey',
      'VerifyKey',
      'DeactivateOld',
      'DeleteOld',
      'DiscardNewKey',
      'DiscardLeftovers',
      'ListCandidates',
    ],
    note: 'In another account (`accountId`): `sts:AssumeRole` on the target role was refused (the role does not exist there, does not trust this step’s role, expects another ExternalId, or this step’s role may not assume it). The step made no IAM call in that account. Not retried.',
    leftBehind: 'No IAM change in that account by this step; the rest depends on the step.',
    cases: [
      'CreateKey: nothing changed.',
      'DeactivateOld or DeleteOld: the new key is in Vault and verified; no old key was retired (after DeleteOld the old keys are Inactive, not deleted).',
      'VerifyKey: a first pin that fails leaves `"pinned": false` and the rotation goes on; a move is rolled back (`VerificationFailed`).',
      'DiscardNewKey (`RollbackFailed`): Vault serves the key it served before; the new key is kept.',
      'DiscardLeftovers, after CreateKey failed (the execution ends `CreateKeyFailed` with CreateKey’s error): the cause goes on with `DiscardLeftovers could not check for keys this execution created (TargetAccountAccessError: …)`; if CreateKey was refused the same way on its first attempt (not retried), it created no key there.',
      LISTING_FAILED,
    ],
    whatToDo:
      'Deploy or fix the target role (`deploy/target-account.yml`) in that account: it must trust every step role and expect `targetExternalId`. Then start a new execution; after DeactivateOld or DeleteOld, retire the old keys in that account by hand.',
  },
  KeyNotYetValidError: {
    raisedBy: ['VerifyKey'],
    note: 'Retried with backoff for about two minutes while IAM propagates the new key (usually 5-15 s).',
    leftBehind:
      'Nothing while it is retried; past the retries the execution ends `VerificationFailed`, rolled back.',
    whatToDo:
      'Nothing, usually. If it outlasts the retries, look for an SCP or permission boundary that denies the new key.',
  },
  KeyVerificationError: {
    raisedBy: ['VerifyKey'],
    note: 'The cause of `VerificationFailed`: Vault serves another key than the new one, STS rejects the secret Vault holds, or the key belongs to another user or account.',
    leftBehind: 'Vault restored to the previous key, new key deleted, old key untouched.',
    whatToDo: 'The message names the keys and ARNs: find who else writes the path, or fix `VAULT_FIELD_*`.',
  },
  OldKeyStillInUseError: {
    raisedBy: ['DeactivateOld'],
    leftBehind: 'The new key is in Vault and verified; the old key is still used, so both stay Active.',
    whatToDo:
      'Find the consumer (CloudTrail, `aws iam get-access-key-last-used`), then start a new execution or deactivate by hand.',
  },
  OldKeyReactivatedError: {
    raisedBy: ['DeleteOld'],
    leftBehind: 'Someone re-activated the old key during the recovery window; it was not deleted.',
    whatToDo: 'Find out why it was needed.',
  },
  RollbackUnsafeError: {
    raisedBy: ['DiscardNewKey'],
    note: 'The cause of `RollbackFailed`: Vault still serves the new key, so deleting it would break its consumers.',
    leftBehind: 'The new key is kept and served; the old key is untouched.',
    whatToDo: 'Keep the new key; start a new rotation later to retire the old one.',
  },
  LeftoverUnprovenError: {
    raisedBy: ['DiscardLeftovers'],
    note: 'After CreateKey failed: the execution still ends `CreateKeyFailed` with CreateKey’s error, this one in its cause.',
    leftBehind:
      'Every key is kept: two or more were created after this execution’s claim, at most one by it, and a key made by hand may be in use.',
    whatToDo:
      'Ask who made the keys the cause names; delete the one nobody made (not served by Vault), then start a new rotation.',
  },
  VaultWriteFailed: {
    means:
      'The Fail state after StoreInVault failed and the rollback (RestoreVault, DiscardNewKey) succeeded.',
    raisedBy: ['StoreInVault'],
    leftBehind: 'New key deleted, Vault serves what it served before, old key untouched.',
    whatToDo:
      'The StoreInVault failure in the history says why (for example `VaultCasConflictError`: someone else wrote the path).',
  },
  VerificationFailed: {
    means: 'The Fail state after VerifyKey failed and the rollback (RestoreVault, DiscardNewKey) succeeded.',
    raisedBy: ['VerifyKey'],
    leftBehind: 'Vault restored to the previous key, new key deleted, old key untouched.',
    cases: [
      'A move whose new pin could not be written (`iam:TagUser` refused) also ends here, rolled back; a first pin that cannot be written does not fail the rotation (VerifyKey’s output says `"pinned": false`).',
      'In another account, a move whose pin VerifyKey could not write because it could not assume the target role ends here too (`TargetAccountAccessError` in the history).',
      'A consumer that picked up the new key during VerifyKey’s retries (up to about two minutes) must read Vault again.',
    ],
    whatToDo:
      'VerifyKey’s error in the history says why. A key STS never accepted: check for an SCP or permission boundary denying it. Make consumers re-read Vault on an authentication error.',
  },
  RollbackFailed: {
    means: 'The Fail state after RestoreVault or DiscardNewKey failed during a rollback.',
    raisedBy: ['RestoreVault', 'DiscardNewKey'],
    leftBehind: 'Stopped where nobody loses access: the old key is untouched and the new key is kept.',
    cases: [
      'RestoreVault’s `VaultDataError` (the earlier KV v2 version no longer holds the old key, or the sealed KV v1 copy is not a JSON object) writes nothing: Vault still serves the new key, which stays Active, and the old key is untouched.',
      'DiscardNewKey’s `TargetAccountAccessError` (the target role refused the discardNewKey session): Vault serves the previous key again; delete the new key in that account by hand.',
      'Vault unreachable from StoreInVault on, for longer than the retries: RestoreVault cannot check what Vault serves, so nothing is deleted; both keys stay Active and the old key is still in Vault.',
    ],
    whatToDo:
      'Once Vault answers, check which key Vault serves at the path; if it is the new key keep it, else delete the new key.',
  },
  FleetRotationIncomplete: {
    means: 'The fleet machine’s Fail state after Summarize: not every due user or account was rotated.',
    raisedBy: ['Summarize'],
    leftBehind:
      'At least one user failed or one account could not be listed; the cause names the first of each with its error, the whole summary (`s3://<fleet bucket>/runs/<fleet execution>/summary.json`) names all. Their old keys are unchanged; every other due user was rotated. Users deferred by `maxDuePerAccount` are no failure: the next run takes them.',
    cases: [
      'A child failed before its new key was stored and verified (the error name, or the child workflow’s own: `States.Timeout`, `ExecutionABORTED`).',
      'An account could not be listed (`TargetAccountAccessError`, `AwsRequestError`, `AwsUnavailableError`, or the listing’s timeout): none of its users was started; the cause names the account, the error and its message. Fix the account’s target role (`deploy/target-account.yml`) and run the fleet again.',
      'A user was not started: IAM would not list its tags or keys (the error name, e.g. `AwsRequestError`; the other users go on), or ListCandidates could not prove where its key is served (no verified pin, and its default path serves none of its Active keys) or its pin was changed outside the rotator (`InvalidInputError`, the cause says which); rotate it once with the `vaultPath` its consumers read, then the fleet follows its pin.',
      'An execution held a child’s name that is not this fleet’s rotation of that user (`ExecutionNameTakenError`): look at that execution, and run the fleet again.',
      'A child was answered by a rotation of another user, or with what its input did not ask for (`FleetResultsError`: `planned` in a rotation fleet, `rotated` in a dry run): someone else sent its task token; see `FleetResultsError`.',
    ],
    whatToDo:
      'Open each failed child (`iam-key-rotator history <execution>`), fix, and run the fleet again (rotated users are then `keyYoung`).',
  },
  FleetResultsError: {
    raisedBy: ['Summarize'],
    leftBehind:
      'The children ran, each rotation ends and alerts on its own, but the fleet could not count them (Fail state `SummaryUnavailable`).',
    cases: [
      'Reported for one user in the summary and the `FleetRotationIncomplete` cause: its child was answered for another user or account, or `planned` in a rotation fleet or `rotated` in a dry run, which its input did not ask for (someone holding its task token answered it with another execution), or its child succeeded with an output naming no outcome. The fleet does not count the user; its own rotation, if one runs, ends and alerts on its own.',
    ],
    whatToDo:
      'The message names the object. The Map Run’s results and each account’s listing are under `runs/<fleet execution>/` of the fleet bucket; each child execution’s history says what became of its user. For one user: look for rotations of that user started outside the fleet (CloudTrail `StartExecution`) and who read the fleet’s task tokens (docs/security.md). Run the fleet again for the users not rotated (rotated ones are then `keyYoung`).',
  },
  ExecutionNameTakenError: {
    raisedBy: ['Summarize'],
    note: 'Reported for one user in the fleet’s summary and `FleetRotationIncomplete` cause, e.g. someone started a dry run under the predictable name.',
    leftBehind: 'That user was not rotated by this fleet run; the others were.',
    whatToDo: 'Look at that execution, and run the fleet again.',
  },
  StoppedByOperator: {
    means:
      'The error of an execution stopped with `iam-key-rotator stop` (status ABORTED). Nothing is undone.',
    raisedBy: [],
    leftBehind: 'Depends on the state it stopped in: `iam-key-rotator stop` and `history` print it.',
    whatToDo: 'Follow the list in docs/operating.md, "Stopping an execution".',
  },
};
