import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPENAPI_ROOT, ROUTES } from '../../../local-stack/vault/index.js';
import type { Route, VaultMethod } from '../../../local-stack/vault/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SPEC_FILE = resolve(REPO_ROOT, '../shared/reference/vault-openapi.json');

const Operation = z.object({
  parameters: z.array(z.object({ name: z.string(), in: z.string() })).optional(),
});
const OpenApi = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) });

const spec = OpenApi.parse(JSON.parse(readFileSync(SPEC_FILE, 'utf8')));

// Vault serves PUT as POST and LIST as GET with ?list=true; its OpenAPI document lists only the latter.
const OPENAPI_METHOD: Record<VaultMethod, string> = {
  GET: 'get',
  HEAD: 'get',
  LIST: 'get',
  POST: 'post',
  PUT: 'post',
  PATCH: 'patch',
  DELETE: 'delete',
};

const served = ROUTES.flatMap((route: Route) =>
  route.methods.map((method) => ({ path: `${OPENAPI_ROOT[route.scope]}${route.pattern}`, method })),
);

describe('Vault OpenAPI contract', () => {
  it('serves at least one route of every backend it emulates', () => {
    expect(new Set(ROUTES.map((r) => r.scope))).toEqual(
      new Set(['sys', 'token', 'aws', 'approle', 'kv1', 'kv2']),
    );
  });

  it.each(served)('finds $method $path in Vault’s OpenAPI document', ({ path, method }) => {
    const operations = spec.paths[path];
    expect(operations, `${path} is not a Vault path`).toBeDefined();
    const operation = operations?.[OPENAPI_METHOD[method]];
    expect(operation, `${method} ${path} is not a Vault operation`).toBeDefined();
    if (method === 'LIST') {
      const parameters = Operation.parse(operation).parameters ?? [];
      expect(parameters.some((p) => p.name === 'list' && p.in === 'query')).toBe(true);
    }
  });
});
