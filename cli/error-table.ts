import { ERROR_TABLE } from '../functions/commons/error-table.js';

export interface ErrorRow {
  raisedBy: string;
  /** What the execution leaves behind, then what to do. */
  leftBehind: string;
}

/** functions/commons/error-table.ts (docs/reference/errors.md) by error name, as the CLI prints it. */
export function errorTable(): Map<string, ErrorRow> {
  return new Map(
    Object.entries(ERROR_TABLE).map(([name, guide]) => [
      name,
      {
        raisedBy: guide.raisedBy.join(', ') || '(the operator)',
        leftBehind: `${guide.leftBehind} ${guide.whatToDo}`,
      },
    ]),
  );
}

/** What an execution that stopped while in (or just after) `state` leaves behind, and what to do. */
export function afterStop(statesEntered: string[]): string {
  const done = new Set(statesEntered);
  if (done.has('RecoveryWindow') || done.has('DeleteOld')) {
    return 'The new key is in Vault and verified; the old key is Inactive and was not deleted. Delete it by hand (aws iam delete-access-key) once sure, or re-activate it.';
  }
  if (done.has('GracePeriod') || done.has('DeactivateOld') || done.has('WaitForOldKeyIdle')) {
    return 'The new key is in Vault and verified; the old key is still Active, so both keys work. Deactivate, then delete, the old key by hand once its consumers use the new one (a new rotation would find two keys).';
  }
  if (done.has('StoreInVault') || done.has('VerifyKey')) {
    return 'Stopped between storing and verifying: check which key Vault serves at the path; if it is the new key keep it, else delete the new key. The old key is untouched.';
  }
  if (done.has('CreateKey')) {
    return 'A new key may have been created but not stored in Vault: delete any key of the user that Vault does not serve. The old key is untouched.';
  }
  return 'Nothing was changed.';
}
