// docs/reference/*.md are generated (scripts/reference-docs.ts, `npm run docs`) from the code they
// describe; these tests fail while a committed page is stale, or while a definition and its docs
// disagree on what exists.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toJSONSchema } from 'zod/v4/core';
import { PARAMETERS } from '../../deploy/parameters.cjs';
import { resources } from '../../deploy/template.cjs';
import { FleetInput } from '../../functions/commons/fleet-input.js';
import { FLEET_INPUT_DOCS } from '../../functions/commons/fleet-input-docs.js';
import { ExecutionInput } from '../../functions/commons/input.js';
import { EXECUTION_INPUT_DOCS } from '../../functions/commons/input-docs.js';
import { ROOT, referencePages } from '../../scripts/reference-docs.js';
import { TEMPLATE_PARAMS, templateContext } from '../deploy/template.js';

const fields = (schema: unknown) =>
  Object.keys(
    (
      toJSONSchema(schema as Parameters<typeof toJSONSchema>[0], { io: 'input' }) as {
        properties?: object;
      }
    ).properties ?? {},
  ).sort();

interface Serverless {
  params: { default: Record<string, unknown> };
  provider: { environment: Record<string, unknown> };
  custom: { vaultWriterEnvironment: Record<string, unknown> };
  functions: Record<string, { environment?: Record<string, unknown> }>;
}
const pages = referencePages();
const serverless = async () => parse(await readFile(join(ROOT, 'serverless.yml'), 'utf8')) as Serverless;

describe('docs/reference', () => {
  it.each(['execution-input.md', 'fleet-input.md', 'parameters.md', 'errors.md', 'credentials.md'])(
    '%s is what scripts/reference-docs.ts builds (run `npm run docs`)',
    async (file) => {
      const path = join('docs', 'reference', file);
      expect(await readFile(join(ROOT, path), 'utf8'), `${path} is stale: run npm run docs`).toBe(
        (await pages).get(path),
      );
    },
  );

  it('describes every field of ExecutionInput and FleetInput, and no other', () => {
    expect(Object.keys(EXECUTION_INPUT_DOCS).sort()).toEqual(fields(ExecutionInput));
    expect(Object.keys(FLEET_INPUT_DOCS).sort()).toEqual(fields(FleetInput));
  });
});

describe('deploy/parameters.cjs', () => {
  it('describes every parameter serverless.yml declares, and no other', async () => {
    expect(Object.keys(PARAMETERS).sort()).toEqual(Object.keys((await serverless()).params.default).sort());
  });

  it('names every environment variable serverless.yml fills from a parameter', async () => {
    const { provider, custom, functions } = await serverless();
    const environments = [
      provider.environment,
      custom.vaultWriterEnvironment,
      ...Object.values(functions).map((fn) => fn.environment ?? {}),
    ];
    const carried = environments.flatMap((environment) =>
      Object.entries(environment).flatMap(([variable, value]) => {
        const name = /^\$\{param:(\w+)\}$/.exec(String(value))?.[1];
        return name ? [[name, variable] as const] : [];
      }),
    );
    expect(carried.length).toBeGreaterThan(20);
    for (const [name, variable] of carried) {
      expect(PARAMETERS[name]?.variables ?? [], `${name} carried as ${variable}`).toContain(variable);
    }
  });

  const bounded = Object.entries(PARAMETERS).filter(
    ([, p]) => p.values !== undefined || p.min !== undefined || p.max !== undefined,
  );

  it('bounds only parameters that deploy/template.cjs reads at package time', () => {
    expect(bounded.map(([name]) => name).filter((name) => !(name in TEMPLATE_PARAMS))).toEqual([]);
  });

  // What a value at a bound needs beside it: the grace windows must stay longer than the in-use margin.
  const beside: Record<string, (value: number) => Record<string, string>> = {
    inUseMarginSeconds: (value) => ({ minGraceSeconds: String(value + 1), graceSeconds: String(value + 1) }),
  };

  it.each(bounded)('packaging refuses %s outside its documented values or bounds', async (name, p) => {
    const outside = p.values
      ? ['not-a-value']
      : [String((p.max ?? 0) + 1), ...(p.min ? [String(p.min - 1)] : [])];
    for (const value of outside) {
      await expect(resources(templateContext({ [name]: value }))).rejects.toThrow(name);
    }
    for (const value of [p.min, p.max].filter((v) => v !== undefined)) {
      const others = beside[name]?.(value) ?? {};
      await expect(resources(templateContext({ ...others, [name]: String(value) }))).resolves.toBeDefined();
    }
  });
});
