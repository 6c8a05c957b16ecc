import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../local-stack/polyfills.js';

// package.json's engines say Node >= 20.19 although aws-local-stepfunctions 3 declares Node >= 22
// (npm prints EBADENGINE on Node 20). The whole suite runs on Node 20 on these machines; this file
// pins down why that is sound: the library's Node build uses one API Node 20 lacks,
// Promise.withResolvers, and local-stack/polyfills.ts provides it before the library is loaded.
const require = createRequire(import.meta.url);
// The package exports no ./package.json: go up from its entry point (build/main.node.*).
const packageDir = dirname(dirname(require.resolve('aws-local-stepfunctions')));

/** Globals and methods that Node 21/22 added (V8 12.x), any of which would break Node 20. */
const NODE_22_ONLY = [
  'Object.groupBy',
  'Map.groupBy',
  'Array.fromAsync',
  'Promise.try',
  'Iterator.from',
  'getBuiltinModule',
  'import.meta.dirname',
  'import.meta.filename',
  '.union(',
  '.intersection(',
  '.difference(',
  '.isSubsetOf(',
  '.isSupersetOf(',
  '.isDisjointFrom(',
  '.symmetricDifference(',
  'Float16Array',
  'RegExp.escape',
  'navigator.',
];

describe('Node 20 support', () => {
  it('uses no Node 22 API in aws-local-stepfunctions but Promise.withResolvers', async () => {
    const pkg = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
      engines?: { node?: string };
    };
    expect(pkg.engines?.node).toBe('>=22.0.0');
    const build = await readFile(join(packageDir, 'build/main.node.esm.js'), 'utf8');
    expect(build).toContain('Promise.withResolvers');
    expect(NODE_22_ONLY.filter((api) => build.includes(api))).toEqual([]);
  });

  it('has Promise.withResolvers once the polyfill is loaded, on Node 20 and later', async () => {
    // The project's TypeScript lib is ES2023 (Node 20): the method is typed here by hand.
    const withResolvers = (
      Promise as unknown as {
        withResolvers<T>(): { promise: Promise<T>; resolve: (value: T) => void };
      }
    ).withResolvers.bind(Promise);
    const { promise, resolve } = withResolvers<string>();
    resolve('settled');
    await expect(promise).resolves.toBe('settled');
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(20);
  });
});
