import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../local-stack/lambda.js';
import type { SeededUser } from '../../local-stack/provision.js';
import { useLocalStack } from '../support/local-stack.js';

// Execution input is the only thing a caller controls: whatever it is, the execution either
// validates it or ends InputRejected with InvalidInputError before any call to IAM, KMS, STS or Vault.
// Floors of 0, proceed, moves and deleteInactiveKey allowed: the valid-input properties cover the
// schema's whole range.
const ctx = useLocalStack({
  env: {
    ROTATOR_MIN_GRACE_SECONDS: '0',
    ROTATOR_MIN_RECOVERY_SECONDS: '0',
    ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED: 'true',
    ROTATOR_ALLOW_VAULT_PATH_MOVE: 'true',
    ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true',
  },
});

const PREFIX = 'aws/iam-users/';
/** The Cause may name fields and rules, never echo a (megabyte) value. */
const MAX_CAUSE = 2_000;
const MB = 1024 * 1024;

let user: SeededUser;
beforeAll(async () => {
  user = await ctx.seed('property-input');
});

async function expectRejected(input: Json): Promise<void> {
  const report = await ctx.rotate(user, { input });
  const label = JSON.stringify(input).slice(0, 200);
  expect({ status: report.status, error: report.error?.Error, states: report.states }, label).toEqual({
    status: 'FAILED',
    error: 'InvalidInputError',
    states: ['ValidateInput', 'InputRejected'],
  });
  expect(report.calls, label).toEqual({});
  expect(report.error?.Cause.length ?? 0, label).toBeLessThanOrEqual(MAX_CAUSE);
}

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-key-rotator-local';

/** ValidateInput invoked directly: the same verdict, for many more inputs than executions allow. */
async function expectHandlerRejects(input: Json): Promise<void> {
  const { handler } = await import('../../functions/validateInput.js');
  const label = JSON.stringify(input).slice(0, 200);
  const error = await handler({
    input,
    execution: 'arn:aws:states:us-east-1:123456789012:execution:iam-key-rotator-local:prop',
    startedAt: new Date().toISOString(),
    stateMachine: STATE_MACHINE,
  }).then(
    (request) => new Error(`accepted: ${JSON.stringify(request).slice(0, 200)}`),
    (e: unknown) => e as Error,
  );
  expect(error.name, `${label}: ${error.message.slice(0, 300)}`).toBe('InvalidInputError');
  expect(error.message.length, label).toBeLessThanOrEqual(MAX_CAUSE);
}

/** Both: a few through the state machine (slow, ~0.2 s each), many through the handler. */
async function checkRejected<T>(
  arb: fc.Arbitrary<T>,
  toInput: (value: T) => Json,
  runs: { machine: number; handler: number },
) {
  await fc.assert(
    fc.asyncProperty(arb, async (value) => expectRejected(toInput(value))),
    { numRuns: runs.machine },
  );
  await fc.assert(
    fc.asyncProperty(arb, async (value) => expectHandlerRejects(toInput(value))),
    { numRuns: runs.handler },
  );
}

const validName = fc.stringMatching(/^[\w+=,.@-]{1,64}$/).filter((n) => n !== '.' && n !== '..');

/** Characters IAM user names may not contain. */
const badChar = fc.constantFrom(
  '/',
  '\\',
  ' ',
  '\0',
  '\n',
  '\t',
  '%',
  '#',
  '?',
  '*',
  '~',
  '"',
  "'",
  ';',
  ':',
  'é',
  'Ω',
  '🙂',
  '\u202e',
  '<',
  '>',
);

const injectedName = fc.oneof(
  fc.constantFrom(
    '',
    '/',
    '../admin',
    '..%2fadmin',
    'a/b',
    'a b',
    'nul\0byte',
    'ünïcödé',
    '管理者',
    '${jndi:ldap://x}',
    "'; DROP TABLE users; --",
    '<script>',
    'a'.repeat(65),
    ' admin',
    'admin\n',
  ),
  fc
    .tuple(fc.string({ maxLength: 20 }), badChar, fc.string({ maxLength: 20 }))
    .map(([a, c, b]) => `${a}${c}${b}`),
);

const escapingPath = fc.oneof(
  fc.constantFrom(
    `${PREFIX}..`,
    `${PREFIX}../../sys/policy`,
    `${PREFIX}x/../../y`,
    `${PREFIX}./x`,
    `${PREFIX}%2e%2e/x`,
    `${PREFIX}%2e%2e%2fx`,
    `${PREFIX}x%2F..%2Fy`,
    `${PREFIX}/x`,
    `${PREFIX}x//y`,
    `${PREFIX}x/`,
    `/${PREFIX}x`,
    '/etc/passwd',
    '//x',
    PREFIX,
    PREFIX.slice(0, -1),
    'aws/iam-users',
    'aws/iam-usersX/x',
    'secret/data/x',
    'sys/policies/acl/root',
    `${PREFIX}x\0y`,
    `${PREFIX}x y`,
    `${PREFIX}${'a'.repeat(600)}`,
  ),
  fc
    .tuple(
      fc.constantFrom('..', '.', '', '%2e%2e', '%2E%2E', '..%2f', '\\..'),
      fc.stringMatching(/^[\w-]{1,10}$/),
    )
    .map(([bad, tail]) => `${PREFIX}${bad}/${tail}`),
  fc.stringMatching(/^[\w/.-]{1,30}$/).filter((p) => !p.startsWith(PREFIX)),
);

const wrongTypes = fc.oneof(
  fc.record({
    userName: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object()),
  }),
  validName.chain((userName) =>
    fc.oneof(
      fc.record({
        userName: fc.constant(userName),
        dryRun: fc.oneof(fc.constantFrom('true', 'false', 1, 0, null), fc.object()),
      }),
      fc.record({
        userName: fc.constant(userName),
        graceSeconds: fc.oneof(
          fc.constantFrom(-1, 1.5, '10', null, 1e12, Number.MAX_SAFE_INTEGER, 31 * 24 * 3600),
          fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
        ),
      }),
      fc.record({
        userName: fc.constant(userName),
        recoverySeconds: fc.constantFrom(-5, '86400', true, [], {}),
      }),
      fc.record({ userName: fc.constant(userName), deleteInactiveKey: fc.constantFrom('yes', 1, null, {}) }),
      fc
        .record({
          userName: fc.constant(userName),
          oldKeyInUse: fc.oneof(fc.constantFrom('WAIT', 'ignore', '', null, 1), fc.string({ maxLength: 10 })),
        })
        .filter((v) => !['wait', 'proceed', 'fail'].includes(v.oldKeyInUse as string)),
      fc.record({
        userName: fc.constant(userName),
        vaultPath: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())),
      }),
    ),
  ),
);

const unknownFields = fc
  .tuple(
    validName,
    fc
      .string({ minLength: 1, maxLength: 30 })
      .filter(
        (k) =>
          ![
            'userName',
            'vaultPath',
            'dryRun',
            'graceSeconds',
            'recoverySeconds',
            'deleteInactiveKey',
            'oldKeyInUse',
            'moveVaultPath',
            'fleetTaskToken',
          ].includes(k),
      ),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map(([userName, key, value]) => ({ userName, [key]: value }) as Json);

describe('execution input: everything invalid ends InputRejected before any call', () => {
  const isInputObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

  it('random JSON objects without a user name', async () => {
    const arb = fc
      .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
      .filter((v) => !('userName' in v));
    await checkRejected(arb, (v) => v as Json, { machine: 10, handler: 200 });
  });

  it('random JSON objects with a random user name', async () => {
    const arb = fc
      .tuple(
        fc.jsonValue({ maxDepth: 2 }),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
      )
      .filter(([name]) => !(typeof name === 'string' && /^[\w+=,.@-]{1,64}$/.test(name)))
      .map(([userName, rest]) => ({ ...rest, userName }) as Json);
    await checkRejected(arb, (v) => v, { machine: 8, handler: 200 });
  });

  // Step Functions accepts any JSON document as input, null included.
  it('top-level values that are not an object', async () => {
    const arb = fc
      .oneof(
        fc.constant(null),
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.boolean(),
        fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
      )
      .filter((v) => !isInputObject(v));
    await checkRejected(arb, (v) => v as Json, { machine: 6, handler: 100 });
    await expectRejected(null);
  });

  it('injection-like user names', async () => {
    await checkRejected(injectedName, (userName) => ({ userName }), { machine: 12, handler: 300 });
  });

  it('user names IAM allows that would name a path outside the prefix (`.` and `..`)', async () => {
    for (const userName of ['.', '..']) {
      await expectHandlerRejects({ userName });
      await expectRejected({ userName });
    }
  });

  it('Vault paths escaping the prefix', async () => {
    await checkRejected(
      fc.tuple(validName, escapingPath),
      ([userName, vaultPath]) => ({ userName, vaultPath }),
      {
        machine: 15,
        handler: 400,
      },
    );
  });

  it('wrong types', async () => {
    await checkRejected(wrongTypes, (v) => v as Json, { machine: 12, handler: 300 });
  });

  it('unknown fields', async () => {
    await checkRejected(unknownFields, (v) => v, { machine: 8, handler: 200 });
  });

  it('oversized values: megabyte strings are refused and not echoed', async () => {
    const huge = (c: string) => c.repeat(MB);
    const inputs: Json[] = [
      { userName: huge('a') },
      { userName: user.userName, vaultPath: `${PREFIX}${huge('b')}` },
      { userName: user.userName, extra: huge('c') },
      { userName: user.userName, [huge('k')]: 1 },
      { userName: user.userName, oldKeyInUse: huge('w') },
      { userName: huge('/'), vaultPath: huge('.') },
    ];
    for (const input of inputs) {
      await expectHandlerRejects(input);
      await expectRejected(input);
    }
  });

  it('oversized top-level values', async () => {
    for (const input of ['z'.repeat(MB), ['y'.repeat(MB)]]) await expectRejected(input);
  });
});

describe('execution input: valid input is accepted by ValidateInput', () => {
  const segment = fc.stringMatching(/^[\w.@+=,-]{1,20}$/).filter((s) => s !== '.' && s !== '..');
  const validPath = fc
    .array(segment, { minLength: 1, maxLength: 5 })
    .map((segments) => `${PREFIX}${segments.join('/')}`);

  it('valid IAM user names and paths under the prefix', async () => {
    const { handler } = await import('../../functions/validateInput.js');
    await fc.assert(
      fc.asyncProperty(
        validName,
        fc.option(validPath, { nil: undefined }),
        fc.option(fc.boolean(), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 30 * 24 * 3600 }), { nil: undefined }),
        fc.option(fc.constantFrom('wait', 'proceed', 'fail'), { nil: undefined }),
        async (userName, vaultPath, dryRun, graceSeconds, oldKeyInUse) => {
          const input = JSON.parse(
            JSON.stringify({ userName, vaultPath, dryRun, graceSeconds, oldKeyInUse }),
          ) as Json;
          const request = await handler({
            input,
            execution: 'arn:aws:states:us-east-1:123456789012:execution:iam-key-rotator-local:prop',
            startedAt: new Date().toISOString(),
            stateMachine: STATE_MACHINE,
          });
          expect(request.userName).toBe(userName);
          expect(request.vaultPath).toBe(vaultPath ?? `${PREFIX}${userName}`);
          expect(request.dryRun).toBe(dryRun ?? false);
          if (graceSeconds !== undefined) expect(request.graceSeconds).toBe(graceSeconds);
          if (oldKeyInUse !== undefined) expect(request.oldKeyInUse).toBe(oldKeyInUse);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a valid input runs past ValidateInput in the state machine (dry run)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), async (deleteInactiveKey) => {
        const report = await ctx.rotate(user, {
          input: { userName: user.userName, dryRun: true, deleteInactiveKey },
        });
        expect(report.status).toBe('SUCCEEDED');
        expect(report.states.at(-1)).toBe('DryRunComplete');
      }),
      { numRuns: 3 },
    );
  });
});
