import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const HEADING = '### Error names and what each leaves behind';

export interface ErrorRow {
  raisedBy: string;
  leftBehind: string;
}

let table: Map<string, ErrorRow> | undefined;

/** The README's error table (the one source of what each error leaves behind), by error name. */
export function errorTable(readme = README): Map<string, ErrorRow> {
  if (table && readme === README) return table;
  const rows = new Map<string, ErrorRow>();
  let text = '';
  try {
    text = readFileSync(readme, 'utf8');
  } catch {
    // An install without the README still runs; it just cannot explain errors.
  }
  const section = text.split(HEADING)[1]?.split(/\n#+ /)[0] ?? '';
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const [, names, raisedBy, leftBehind] = cells;
    if (!names || !raisedBy || !leftBehind || names.startsWith('---')) continue;
    for (const [, name] of names.matchAll(/`([A-Za-z.]+)`/g)) {
      if (name) rows.set(name, { raisedBy, leftBehind });
    }
  }
  if (readme === README) table = rows;
  return rows;
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
