import { z } from 'zod';
import { FaultRequestBody, InvalidFaultSpecError, parseFaultSpec, type Traffic } from '../traffic.js';
import { AwsServiceError } from './errors.js';
import { RateLimitSettings } from './rate-limit.js';
import { objectInfo } from './s3/buckets.js';
import { seedSecret } from './secrets-manager.js';
import { seedParameter } from './ssm.js';
import type { AwsAccounts } from './accounts.js';
import { seededAccessKey, userInfo, type AwsState } from './state.js';

/**
 * `/__admin/*`: unauthenticated JSON for seeding and inspecting; the server only serves it to
 * loopback peers. Routes about one account's contents (state, users, keys, secrets, parameters,
 * S3 buckets and objects, IAM's rate limit) act in the home account, or in another under `/__admin/accounts/<id>/…`.
 */
export const ADMIN_PREFIX = '/__admin/';

const ACCOUNT_SCOPE = /^accounts\/(\d{12})\/(.*)$/;

export interface AdminReply {
  status: number;
  body: unknown;
}

const UserBody = z.strictObject({ userName: z.string(), path: z.string().optional() });
const SecretBody = z.strictObject({ name: z.string(), value: z.string() });
const ParameterBody = z.strictObject({
  name: z.string(),
  value: z.string(),
  type: z.enum(['String', 'StringList', 'SecureString']),
});
const PropagationBody = z.strictObject({ ms: z.number().int().nonnegative() });
const CreateDateBody = z.strictObject({ createDate: z.iso.datetime({ offset: true }) });

class BadRequestError extends Error {}

function parseBody<T>(schema: z.ZodType<T>, body: Buffer): T {
  let json: unknown;
  try {
    json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequestError('the request body is not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new BadRequestError(z.prettifyError(result.error));
  return result.data;
}

type Route = (match: RegExpExecArray, body: Buffer) => AdminReply;

const ok = (body: unknown, status = 200): AdminReply => ({ status, body });

/** The routes about one account's contents. */
function accountRoutes(state: AwsState): [string, RegExp, Route][] {
  return [
    ['GET', /^state$/, () => ok(state.snapshot())],
    [
      'POST',
      /^users$/,
      (_m, body) => {
        const { userName, path } = parseBody(UserBody, body);
        return ok(userInfo(state.addUser(userName, path)), 201);
      },
    ],
    [
      'POST',
      /^users\/([^/]+)\/access-keys$/,
      // Seeded keys skip the propagation delay: they stand for keys that existed before the run.
      (m) => ok(seededAccessKey(state.addAccessKey(decodeURIComponent(m[1] ?? ''), false)), 201),
    ],
    [
      'POST',
      /^secrets$/,
      (_m, body) => {
        const { name, value } = parseBody(SecretBody, body);
        return ok(seedSecret(state, name, value), 201);
      },
    ],
    [
      'POST',
      /^parameters$/,
      // Overwrites an existing parameter (a new version), so seeding can be repeated.
      (_m, body) => {
        const { name, value, type } = parseBody(ParameterBody, body);
        return ok(seedParameter(state, name, value, type), 201);
      },
    ],
    [
      'GET',
      /^s3\/buckets$/,
      () =>
        ok({ buckets: [...state.buckets.values()].map((b) => ({ name: b.name, objects: b.objects.size })) }),
    ],
    [
      'GET',
      /^s3\/buckets\/([^/]+)\/objects$/,
      // Keys, sizes and ETags in key order, never the bodies.
      (m) => {
        const bucket = state.buckets.get(decodeURIComponent(m[1] ?? ''));
        if (!bucket) return ok({ error: 'NoSuchBucket' }, 404);
        const objects = [...bucket.objects.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
        return ok({ bucket: bucket.name, objects: objects.map(objectInfo) });
      },
    ],
    ['GET', /^rate-limits\/iam$/, () => ok(state.iamRateLimit.describe())],
    [
      'PUT',
      /^rate-limits\/iam$/,
      (_m, body) => {
        state.iamRateLimit.configure(parseBody(RateLimitSettings, body));
        return ok(state.iamRateLimit.describe());
      },
    ],
    [
      'DELETE',
      /^rate-limits\/iam$/,
      () => {
        state.iamRateLimit.configure(undefined);
        return ok(state.iamRateLimit.describe());
      },
    ],
  ];
}

/** The routes about the emulator as a whole: every account, the traffic. */
function emulatorRoutes(accounts: AwsAccounts, traffic: Traffic): [string, RegExp, Route][] {
  return [
    [
      'GET',
      /^accounts$/,
      () => ok({ home: accounts.home.accountId, accountIds: accounts.all().map((a) => a.accountId) }),
    ],
    [
      'POST',
      /^access-keys\/([^/]+)\/create-date$/,
      // Backdates a key, so a fleet finds it due: IAM itself never changes a key's CreateDate.
      (m, body) => {
        const found = accounts.findAccessKey(decodeURIComponent(m[1] ?? ''));
        if (!found) return ok({ error: 'no such access key' }, 404);
        found.key.createDate = new Date(parseBody(CreateDateBody, body).createDate);
        return ok(seededAccessKey(found.key));
      },
    ],
    [
      'POST',
      /^propagation$/,
      // IAM's eventual consistency, the same in every account.
      (_m, body) => {
        accounts.setPropagationMs(parseBody(PropagationBody, body).ms);
        return ok({ propagationMs: accounts.home.propagationMs });
      },
    ],
    ['GET', /^faults$/, () => ok({ faults: traffic.describe() })],
    [
      'POST',
      /^faults$/,
      (_m, body) => {
        const request = parseBody(FaultRequestBody, body);
        const specs = 'spec' in request ? [request.spec] : request.specs;
        // Parse every spec before arming any, so a bad list changes nothing.
        const parsed = specs.map(parseFaultSpec);
        for (const spec of parsed) traffic.addFault(spec);
        return ok({ faults: traffic.describe() }, 201);
      },
    ],
    [
      'DELETE',
      /^faults$/,
      () => {
        traffic.clearFaults();
        return ok({ faults: [] });
      },
    ],
    ['GET', /^denials$/, () => ok({ denials: accounts.denials })],
    [
      'DELETE',
      /^denials$/,
      () => {
        accounts.denials.length = 0;
        return ok({ denials: [] });
      },
    ],
    ['GET', /^calls$/, () => ok({ calls: traffic.calls() })],
    [
      'DELETE',
      /^calls$/,
      () => {
        traffic.resetCalls();
        return ok({ calls: {} });
      },
    ],
  ];
}

/** Serves one admin request; `path` is what follows the prefix. */
export function handleAdmin(
  method: string,
  path: string,
  body: Buffer,
  accounts: AwsAccounts,
  traffic: Traffic,
): AdminReply {
  const scope = ACCOUNT_SCOPE.exec(path);
  let routes: [string, RegExp, Route][];
  let rest = path;
  if (scope) {
    const [, accountId = '', inner = ''] = scope;
    const state = accounts.get(accountId);
    if (!state) return { status: 404, body: { error: `the emulator models no account ${accountId}` } };
    routes = accountRoutes(state);
    rest = inner;
  } else {
    routes = [...accountRoutes(accounts.home), ...emulatorRoutes(accounts, traffic)];
  }
  const matching = routes.flatMap(([verb, pattern, route]) => {
    const match = pattern.exec(rest);
    return match ? [{ verb, match, route }] : [];
  });
  if (matching.length === 0) return { status: 404, body: { error: `no admin route ${path}` } };
  const chosen = matching.find(({ verb }) => verb === method);
  if (!chosen) return { status: 405, body: { error: `${method} not allowed on ${ADMIN_PREFIX}${path}` } };
  try {
    return chosen.route(chosen.match, body);
  } catch (error) {
    if (error instanceof BadRequestError || error instanceof InvalidFaultSpecError) {
      return { status: 400, body: { error: error.message } };
    }
    if (error instanceof AwsServiceError) {
      return { status: error.status, body: { error: error.code, message: error.message } };
    }
    throw error;
  }
}
