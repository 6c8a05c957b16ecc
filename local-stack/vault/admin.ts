import { z } from 'zod';
import { FaultRequestBody, InvalidFaultSpecError } from '../traffic.js';
import type { Traffic } from '../traffic.js';
import type { VaultControl } from './control.js';
import { VaultEmulatorUsageError } from './errors.js';
import type { VaultResponse } from './response.js';

const Namespaced = { namespace: z.string().optional() };

const NamespaceBody = z.object({ name: z.string().min(1) }).strict();
const MountBody = z
  .object({ ...Namespaced, path: z.string().min(1), version: z.union([z.literal(1), z.literal(2)]) })
  .strict();
const SecretBody = z
  .object({
    ...Namespaced,
    mount: z.string().min(1),
    path: z.string().min(1),
    data: z.record(z.string(), z.unknown()),
    customMetadata: z.record(z.string(), z.string()).optional(),
  })
  .strict();
const TokenBody = z
  .object({
    ...Namespaced,
    policies: z.array(z.string()),
    ttlSeconds: z.number().int().positive().optional(),
  })
  .strict();
const PolicyBody = z.object({ ...Namespaced, name: z.string().min(1), hcl: z.string().min(1) }).strict();

const json = (body: unknown, status = 200): VaultResponse => ({ status, body });
const done = (): VaultResponse => json({ ok: true });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new VaultEmulatorUsageError(`invalid request body: ${detail}`);
  }
  return result.data;
}

type AdminHandler = (body: unknown) => VaultResponse;

/** The unauthenticated `/__admin/` API tests use to seed, inspect and break the emulator. */
export function adminHandlers(control: VaultControl, traffic: Traffic): Record<string, AdminHandler> {
  return {
    'GET state': () => json(control.snapshot()),
    'POST seal': () => {
      control.seal();
      return done();
    },
    'POST unseal': () => {
      control.unseal();
      return done();
    },
    'POST namespaces': (body) => {
      control.createNamespace(parse(NamespaceBody, body).name);
      return done();
    },
    'POST mounts': (body) => {
      const { path, version, namespace } = parse(MountBody, body);
      control.enableKv(path, version, namespace);
      return done();
    },
    'POST secrets': (body) => json({ version: control.writeSecret(parse(SecretBody, body)) ?? null }),
    'POST tokens': (body) => json({ token: control.createToken(parse(TokenBody, body)) }),
    'POST policies': (body) => {
      const { name, hcl, namespace } = parse(PolicyBody, body);
      control.putPolicy(name, hcl, namespace);
      return done();
    },
    'POST faults': (body) => {
      const request = parse(FaultRequestBody, body);
      for (const spec of 'spec' in request ? [request.spec] : request.specs) traffic.addFault(spec);
      return json({ faults: traffic.describe() });
    },
    'DELETE faults': () => {
      traffic.clearFaults();
      return done();
    },
    'GET calls': () => json(traffic.calls()),
    'DELETE calls': () => {
      traffic.resetCalls();
      return done();
    },
  };
}

/** Dispatches `/__admin/<name>`; usage mistakes become 400 with the reason. */
export function handleAdmin(
  handlers: Record<string, AdminHandler>,
  method: string,
  path: string,
  text: string,
): VaultResponse {
  const handler = handlers[`${method} ${path.replace(/^\/__admin\//, '').replace(/\/$/, '')}`];
  if (!handler) return json({ errors: [`no admin endpoint ${method} ${path}`] }, 404);
  try {
    return handler(text.trim() === '' ? {} : JSON.parse(text));
  } catch (error) {
    if (
      error instanceof VaultEmulatorUsageError ||
      error instanceof InvalidFaultSpecError ||
      error instanceof SyntaxError
    ) {
      return json({ errors: [error.message] }, 400);
    }
    throw error;
  }
}
