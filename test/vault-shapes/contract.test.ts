import { readFileSync } from 'node:fs';
import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localTarget, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget, rotate } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

// Every request the rotator's Vault client sends, recorded by a proxy in front of the emulator
// over rotations that take every code path (KV v1 and v2, each auth method, rollbacks), must be a
// path, method and body that Vault's own OpenAPI description defines.
const SPEC_PATH = new URL('../../../shared/reference/vault-openapi.json', import.meta.url);

interface Operation {
  requestBody?: { content?: { 'application/json'?: { schema?: Schema } } };
}
interface Schema {
  $ref?: string;
  properties?: Record<string, unknown>;
  additionalProperties?: boolean;
}
interface Spec {
  paths: Record<string, Record<string, Operation | unknown>>;
  components: { schemas: Record<string, Schema> };
}
interface Recorded {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec;
const recorded: Recorded[] = [];
let stack: LocalStack;
let proxy: Server;

function parseBody(raw: Buffer): Record<string, unknown> | null {
  if (raw.length === 0) return null;
  try {
    return JSON.parse(raw.toString()) as Record<string, unknown>;
  } catch {
    return { unparsable: true };
  }
}

/** A proxy that records each request's method, path and JSON body on its way to the emulator. */
async function recordingProxy(upstream: string): Promise<Server> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (!req.url?.startsWith('/v1/__admin')) {
        recorded.push({ method: req.method ?? '', path: req.url ?? '', body: parseBody(raw) });
      }
      const out = forward(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function rotateWith(
  name: string,
  shape: Partial<Target>,
  options: { faults?: string[]; keys?: number } = {},
) {
  const local = localTarget(stack, shape);
  const target: Target = {
    ...local,
    vault: { ...local.vault, addr: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` },
  };
  vi.resetModules();
  await prepareTarget(target);
  const user = await seedUser(target, name, { keys: options.keys ?? 1 });
  const start = recorded.length;
  const report = await rotate({
    target,
    stack,
    user,
    waitMs: 0,
    retryPauseMs: 0,
    faults: options.faults ?? [],
  });
  recorded.splice(0, start);
  return report;
}

const handlerRequests: Recorded[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
  proxy = await recordingProxy(stack.vault.addr);
  // STS never accepts the new key; with aws auth, Vault's login made the first STS call.
  const neverValid = (auth: 'aws' | 'other') => [
    `sts:GetCallerIdentity:InvalidClientTokenIdx50@${auth === 'aws' ? 2 : 1}`,
  ];
  const runs: [Partial<Target>, { faults?: string[]; keys?: number }][] = [
    [{ kvVersion: 2, vaultAuth: 'aws' }, {}],
    [{ kvVersion: 2, vaultAuth: 'approle', namespace: 'team-a' }, { faults: neverValid('other') }],
    [
      { kvVersion: 2, vaultAuth: 'token' },
      { faults: neverValid('other'), keys: 0 },
    ],
    [{ kvVersion: 1, vaultAuth: 'aws' }, { faults: neverValid('aws') }],
    [{ kvVersion: 1, vaultAuth: 'approle' }, {}],
    [
      { kvVersion: 1, vaultAuth: 'token' },
      { faults: neverValid('other'), keys: 0 },
    ],
  ];
  for (const [i, [shape, options]] of runs.entries()) {
    recorded.length = 0;
    await rotateWith(`contract-${i}`, shape, options);
    handlerRequests.push(...recorded);
  }
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await stack.close();
});

/** The mounts the local stack has, by the spec's placeholder for their type. */
const MOUNTS: Record<string, string> = {
  '{kv_v2_mount_path}': 'secret',
  '{kv_v1_mount_path}': 'kv',
  '{aws_mount_path}': 'aws',
  '{approle_mount_path}': 'approle',
};

/**
 * The spec's path templates as regular expressions: a mount placeholder is the local stack's mount
 * of that type (templates of other engine types cannot match), `{path}` spans segments, any other
 * parameter one segment.
 */
const templates = Object.keys(spec.paths).flatMap((template) => {
  const segments = template.split('/');
  if (segments.some((s) => s.endsWith('_mount_path}') && !(s in MOUNTS))) return [];
  const pattern = segments
    .map(
      (segment) =>
        MOUNTS[segment] ??
        (segment === '{path}'
          ? '.+'
          : segment.startsWith('{')
            ? '[^/]+'
            : segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&')),
    )
    .join('/');
  return [{ template, regex: new RegExp(`^${pattern}$`) }];
});

function schemaOf(operation: Operation | undefined): Schema | undefined {
  const schema = operation?.requestBody?.content?.['application/json']?.schema;
  const ref = schema?.$ref?.replace('#/components/schemas/', '');
  return ref ? spec.components.schemas[ref] : schema;
}

function specFor(request: Recorded): { template: string; operation: Operation | undefined } | undefined {
  const path = new URL(request.path, 'http://vault').pathname.replace(/^\/v1/, '');
  const method = request.method.toLowerCase();
  // Prefer a literal route (sys/..., auth/...) over a mount placeholder that also matches.
  const matches = templates
    .filter((t) => t.regex.test(path) && spec.paths[t.template]?.[method] !== undefined)
    .sort((a, b) => a.template.split('{').length - b.template.split('{').length);
  const match = matches[0];
  return match
    ? { template: match.template, operation: spec.paths[match.template]?.[method] as Operation }
    : undefined;
}

describe('the rotator’s Vault requests against Vault’s OpenAPI description', () => {
  it('covers every kind of request the client sends', () => {
    const kinds = new Set(handlerRequests.map((r) => `${r.method} ${specFor(r)?.template ?? r.path}`));
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining([
        'GET /sys/internal/ui/mounts/{path}',
        'POST /auth/{aws_mount_path}/login',
        'POST /auth/{approle_mount_path}/login',
        'GET /{kv_v2_mount_path}/data/{path}',
        'POST /{kv_v2_mount_path}/data/{path}',
        'DELETE /{kv_v2_mount_path}/data/{path}',
        'POST /{kv_v2_mount_path}/metadata/{path}',
        'GET /{kv_v1_mount_path}/{path}',
        'POST /{kv_v1_mount_path}/{path}',
        'DELETE /{kv_v1_mount_path}/{path}',
      ]),
    );
  });

  it('sends only paths and methods that Vault defines', () => {
    const unknown = handlerRequests
      .filter((r) => specFor(r) === undefined)
      .map((r) => `${r.method} ${r.path}`);
    expect(unknown).toEqual([]);
  });

  it('sends only body fields that the operation defines', () => {
    const extra: string[] = [];
    for (const request of handlerRequests) {
      if (!request.body) continue;
      const found = specFor(request);
      const schema = schemaOf(found?.operation);
      if (!schema || schema.additionalProperties === true || !schema.properties) continue;
      for (const field of Object.keys(request.body)) {
        if (!(field in schema.properties)) extra.push(`${request.method} ${found?.template}: ${field}`);
      }
    }
    expect(extra).toEqual([]);
  });

  it('reads an older KV v2 version only with the documented version query', () => {
    const versioned = handlerRequests.filter((r) => r.path.includes('?'));
    expect(versioned.length).toBeGreaterThan(0);
    for (const r of versioned)
      expect(new URL(r.path, 'http://vault').searchParams.get('version')).toMatch(/^\d+$/);
  });
});
