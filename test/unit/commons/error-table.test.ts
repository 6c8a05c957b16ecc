// functions/commons/error-table.ts explains every error name an operator can meet: each error class,
// each Fail state's fixed Error, the operator's stop. Checked against the classes and the real ASL
// files, so a renamed state or a new error cannot leave the table (and docs/reference/errors.md) behind.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE } from '../../../functions/commons/error-table.js';
import { errorTable } from '../../../cli/error-table.js';
import { ROOT, errorClasses } from '../../../scripts/reference-docs.js';

interface State {
  Type: string;
  Error?: string;
  Iterator?: { States: Record<string, State> };
  ItemProcessor?: { States: Record<string, State> };
}

/** Every state of every machine, nested Map states included. */
function machineStates(): Map<string, State> {
  const states = new Map<string, State>();
  const walk = (level: Record<string, State>) => {
    for (const [name, state] of Object.entries(level)) {
      states.set(name, state);
      const inner = state.Iterator ?? state.ItemProcessor;
      if (inner) walk(inner.States);
    }
  };
  const dir = join(ROOT, 'statemachine');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.asl.json'))) {
    walk((JSON.parse(readFileSync(join(dir, file), 'utf8')) as { States: Record<string, State> }).States);
  }
  return states;
}

describe('the error table', () => {
  const classes = errorClasses();
  const states = machineStates();

  it('explains every concrete error class', () => {
    expect(classes.size).toBeGreaterThan(20);
    expect([...classes.keys()].filter((name) => !(name in ERROR_TABLE))).toEqual([]);
  });

  it('explains every fixed Error of a Fail state', () => {
    const fixed = [...states.values()].flatMap((s) => (s.Type === 'Fail' && s.Error ? [s.Error] : []));
    expect(fixed.length).toBeGreaterThan(0);
    expect(fixed.filter((name) => !(name in ERROR_TABLE))).toEqual([]);
  });

  it('says what a name that is no error class means, and takes its meaning from the class otherwise', () => {
    for (const [name, guide] of Object.entries(ERROR_TABLE)) {
      if (classes.has(name)) expect(guide.means, name).toBeUndefined();
      else expect(guide.means, `${name} is no error class: say what it means`).toBeTruthy();
    }
  });

  it('names only states the machines have', () => {
    for (const [name, guide] of Object.entries(ERROR_TABLE)) {
      for (const state of guide.raisedBy) expect(states.has(state), `${name}: ${state}`).toBe(true);
    }
  });

  it('is what the CLI prints as left behind, with what to do', () => {
    const rows = errorTable();
    expect([...rows.keys()]).toEqual(Object.keys(ERROR_TABLE));
    expect(rows.get('VaultWriteFailed')?.leftBehind).toBe(
      'New key deleted, Vault serves what it served before, old key untouched. The StoreInVault failure in the history says why (for example `VaultCasConflictError`: someone else wrote the path).',
    );
  });

  it('stays out of the Lambda bundles: no module under functions/ imports it or the field docs', () => {
    /** The modules under `dir` that import the table or the field docs (the docs modules aside). */
    const importersIn = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return importersIn(path);
        const source = entry.name.endsWith('.ts') && !entry.name.endsWith('-docs.ts');
        const imports = /from '[^']*\/(error-table|input-docs|fleet-input-docs)\.js'/;
        return source && imports.test(readFileSync(join(ROOT, path), 'utf8')) ? [path] : [];
      });
    expect(importersIn('cli')).toContain(join('cli', 'error-table.ts'));
    expect(importersIn('functions')).toEqual([]);
  });
});
