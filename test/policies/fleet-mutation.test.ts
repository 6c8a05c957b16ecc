import { IAMClient, ListAccessKeysCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { FleetFunctionName, PolicyDocument, Statement } from '../../deploy/policies.cjs';
import type { AccountListing, DueUser } from '../../functions/commons/fleet-input.js';
import { runKeys } from '../../functions/commons/fleet-store.js';
import { conditionKeys } from '../../local-stack/aws/access.js';
import { parsePolicy } from '../../local-stack/aws/policy/document.js';
import { evaluate } from '../../local-stack/aws/policy/evaluate.js';
import { withFunctionEnvironment } from '../../local-stack/function-environment.js';
import {
  fleetStepVariables,
  type PolicyValues,
  renderLocally,
  roleWithPolicy,
} from '../../local-stack/function-roles.js';
import {
  localTarget,
  type Provisioned,
  type SeededUser,
  seedUser,
  type Target,
  ROTATOR_ROLE,
  USER_PATH,
  vaultAdmin,
} from '../../local-stack/provision.js';
import { prepareTarget, rotate } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;
let provisioned: Provisioned;
let s3: S3Client;
/** Rotated once (a signed pin), its claim since gone stale and its key aged: due, placed by its pin. */
let pinned: SeededUser;
/** A dry run of fleet-policy-user holding a child's name, started after FLEET_STARTED_AT with a token. */
let childName: string;
const FLEET_STARTED_AT = new Date(Date.now() - 60_000).toISOString();
const OPT_IN = [{ Key: 'iam-key-rotator:rotate', Value: 'true' }];

beforeAll(async () => {
  stack = await startLocalStack();
  target = localTarget(stack);
  provisioned = await prepareTarget(target);
  const admin = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  s3 = new S3Client({ ...admin, forcePathStyle: true });
  const iam = new IAMClient(admin);
  const tag = (UserName: string, Tags: { Key: string; Value: string }[]) =>
    iam.send(new TagUserCommand({ UserName, Tags }));
  await seedUser(target, 'fleet-policy-user');
  await tag('fleet-policy-user', OPT_IN);
  // Rotated once each: a signed pin and a signed, fresh claim.
  pinned = await seedUser(target, 'fleet-policy-pinned');
  const claimed = await seedUser(target, 'fleet-policy-claimed');
  for (const user of [pinned, claimed]) {
    const report = await rotate({ target, stack, user, waitMs: 0, retryPauseMs: 0 });
    expect(report.status).toBe('SUCCEEDED');
    await tag(user.userName, OPT_IN);
  }
  // The pinned user's claim dated a day back (no claim any more) and its key 120 days old: due.
  await tag(pinned.userName, [
    { Key: 'iam-key-rotator:claim', Value: new Date(Date.now() - 86_400_000).toISOString() },
  ]);
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: pinned.userName }))).AccessKeyMetadata;
  for (const key of keys ?? []) {
    await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key.AccessKeyId}/create-date`, {
      method: 'POST',
      body: JSON.stringify({ createDate: new Date(Date.now() - 120 * 86_400_000).toISOString() }),
    });
  }
  childName = 'fleet-0123456789abcdef-fleet-policy-user';
  await new SFNClient(admin).send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: childName,
      input: JSON.stringify({
        userName: 'fleet-policy-user',
        accountId: stack.aws.accountId,
        vaultPath: 'aws/iam-users/fleet-policy-user',
        dryRun: true,
        fleetTaskToken: 'a-token-of-this-fleet',
      }),
    }),
  );
});

afterAll(async () => {
  await stack.close();
});

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:iam-key-rotator-fleet-local:policy';
const KEYS = runKeys(EXECUTION);
const MAP_RUN = 'arn:aws:states:us-east-1:123456789012:mapRun:iam-key-rotator-fleet-local/RotateDueUsers:1';
const WRITER_MANIFEST = `${KEYS.results}/1/manifest.json`;

/** An object of the fleet bucket, as the administrator reads it. */
async function read(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: stack.fleetBucket.bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

/** Writes an object as the administrator: what another step or Step Functions wrote. */
const seed = (key: string, value: unknown) =>
  s3.send(new PutObjectCommand({ Bucket: stack.fleetBucket.bucket, Key: key, Body: JSON.stringify(value) }));

/** An ended execution of the per-user machine, as EventBridge hands it to reportToFleet. */
const ended = (status: string, token: string) => ({
  'detail-type': 'Step Functions Execution Status Change',
  detail: {
    executionArn: `${EXECUTION}-child`,
    status,
    input: JSON.stringify({ userName: 'fleet-policy-user', fleetTaskToken: token }),
    error: status === 'FAILED' ? 'CreateKeyFailed' : null,
    cause: null,
  },
});

/** listCandidates over the home account: the pinned user due at its pinned path, the others skipped. */
async function listHome(): Promise<{ due: DueUser[]; listing: AccountListing }> {
  const { handler } = await import('../../functions/listCandidates.js');
  const accountId = stack.aws.accountId;
  const result = await handler({ input: { maxKeyAgeDays: 1 }, execution: EXECUTION, accountId });
  const listing = JSON.parse(await read(KEYS.account(accountId))) as AccountListing;
  const due = result.dueKey
    ? (await read(result.dueKey))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as DueUser)
    : [];
  return { due, listing };
}

/** Runs what each fleet function does, as its role; throws when any call is refused. */
const SCENARIOS: Record<FleetFunctionName, () => Promise<void>> = {
  // Checks the input against the deployment's settings: no call at all.
  planFleet: async () => {
    const { handler } = await import('../../functions/planFleet.js');
    const plan = await handler({ input: { maxDuePerAccount: 10 }, execution: EXECUTION });
    expect(plan).toMatchObject({ accounts: [stack.aws.accountId], maxDuePerAccount: 10 });
  },
  // A due user with a signed pin (kms:VerifyMac on the pin key, a Vault read of its path) and one
  // with a fresh signed claim (kms:VerifyMac on the claim key); its due users and listing to S3.
  listCandidates: async () => {
    const accountId = stack.aws.accountId;
    const { due, listing } = await listHome();
    expect(listing.failedUsers).toEqual([]);
    expect(due.map((u) => [u.userName, u.vaultPath])).toEqual([[pinned.userName, pinned.vaultPath]]);
    expect(listing.skipped).toEqual(
      expect.arrayContaining([
        { accountId, userName: 'fleet-policy-user', reason: 'keyYoung' },
        { accountId, userName: 'fleet-policy-claimed', reason: 'rotationRunning' },
      ]),
    );
  },
  writeFleetManifest: async () => {
    const { handler } = await import('../../functions/writeFleetManifest.js');
    const accountId = stack.aws.accountId;
    expect(await handler({ execution: EXECUTION, listed: [{ accountId, due: 1 }] })).toEqual({
      manifestKey: KEYS.manifest,
      due: 1,
    });
    expect(await read(KEYS.manifest)).toBe(`s3://${stack.fleetBucket.bucket}/${KEYS.due(accountId)}\n`);
  },
  // The Map Run's results and the account's listing read, an execution holding a child's name
  // described (states:DescribeExecution) and found this fleet's, the summary written.
  summarizeFleet: async () => {
    const { handler } = await import('../../functions/summarizeFleet.js');
    const accountId = stack.aws.accountId;
    const summary = await handler({
      execution: EXECUTION,
      fleetStartedAt: FLEET_STARTED_AT,
      dryRun: true,
      listed: [{ accountId, due: 1 }],
      due: 1,
      results: {
        MapRunArn: MAP_RUN,
        ResultWriterDetails: { Bucket: stack.fleetBucket.bucket, Key: WRITER_MANIFEST },
      },
    });
    expect(summary.failed).toEqual([]);
    expect(summary.alreadyStarted).toEqual(['fleet-policy-user']);
    expect(JSON.parse(await read(KEYS.summary))).toMatchObject({ alreadyStarted: ['fleet-policy-user'] });
  },
  reportToFleet: async () => {
    const { handler } = await import('../../functions/reportToFleet.js');
    const tokens = stack.aws.stepFunctions.taskTokens;
    const signal = new AbortController().signal;
    for (const status of ['SUCCEEDED', 'FAILED']) {
      const token = tokens.mint();
      const answered = tokens.wait(token, signal).then(
        () => 'success',
        (error: Error) => error.name,
      );
      expect(await handler(ended(status, token))).toEqual({ reported: true });
      expect(await answered).toBe(status === 'SUCCEEDED' ? 'success' : 'CreateKeyFailed');
    }
  },
};

/** What summarizeFleet reads: the ResultWriter's files (a child found already started) and the account's listing. */
async function seedRun(): Promise<void> {
  const accountId = stack.aws.accountId;
  const output = {
    accountId,
    userName: 'fleet-policy-user',
    outcome: 'alreadyStarted',
    stateMachineArn: stack.stateMachineArn,
    executionName: childName,
    vaultPath: 'aws/iam-users/fleet-policy-user',
    userDefaults: {},
  };
  await seed(`${KEYS.results}/1/SUCCEEDED_0.json`, [
    { Status: 'SUCCEEDED', Input: JSON.stringify({ user: output }), Output: JSON.stringify(output) },
  ]);
  await seed(WRITER_MANIFEST, {
    DestinationBucket: stack.fleetBucket.bucket,
    MapRunArn: MAP_RUN,
    ResultFiles: {
      FAILED: [],
      PENDING: [],
      SUCCEEDED: [{ Key: `${KEYS.results}/1/SUCCEEDED_0.json`, Size: 1 }],
    },
  });
  await seed(KEYS.account(accountId), {
    accountId,
    due: 1,
    maxDuePerAccount: 1000,
    skipped: [],
    failedUsers: [],
    deferred: [],
  });
}

const list = (value: Statement['Action']): string[] => (value === undefined ? [] : [value].flat());

const policyValues = (): PolicyValues => ({
  region: stack.aws.region,
  accountId: stack.aws.accountId,
  sealingKeyArn: '',
  pinKeyArn: provisioned.pinKeyId,
  claimKeyArn: provisioned.claimKeyId,
  userPath: USER_PATH,
});

async function asRole(fn: FleetFunctionName, document: PolicyDocument, run: () => Promise<void>) {
  const clients = {
    iam: new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    }),
    sts: new STSClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    }),
  };
  const role = await roleWithPolicy(
    clients,
    `iam-key-rotator-local-${fn}`,
    renderLocally(document, policyValues()),
  );
  if (fn === 'summarizeFleet') await seedRun();
  stack.aws.clearAuthorizationLog();
  await withFunctionEnvironment({ ...role.environment, ...fleetStepVariables(policyValues()) }, run);
  return role.roleArn;
}

/**
 * The bucket key's actions: S3 asks KMS for them on the caller's behalf (GenerateDataKey to seal an
 * object, Decrypt to open one), which the local stack's S3 does not model, so each is proven
 * needed by evaluating the request S3 makes.
 */
const VIA_S3 = new Set(['kms:GenerateDataKey', 'kms:Decrypt']);

const mutations = policies.FLEET_FUNCTIONS.flatMap((fn) =>
  policies.FLEET_FUNCTION_STATEMENTS[fn].flatMap((statement, index) =>
    list(statement.Action).map((action) => ({ fn, action, index })),
  ),
);

/** Each resource of a statement naming several: every one is needed too. */
const resourceMutations = policies.FLEET_FUNCTIONS.flatMap((fn) =>
  policies.FLEET_FUNCTION_STATEMENTS[fn].flatMap((statement, index) =>
    Array.isArray(statement.Resource) && statement.Resource.length > 1
      ? statement.Resource.map((resource) => ({ fn, sid: statement.Sid, resource, index }))
      : [],
  ),
);

/** The document without `action` in the function's statement `index`. */
function without(fn: FleetFunctionName, action: string, index: number): PolicyDocument {
  const document = policies.fleetFunctionPolicy(fn);
  const offset = document.Statement.length - policies.FLEET_FUNCTION_STATEMENTS[fn].length;
  document.Statement = document.Statement.flatMap((statement, i) => {
    if (i !== offset + index) return [statement];
    const rest = list(statement.Action).filter((a) => a !== action);
    return rest.length === 0 ? [] : [{ ...statement, Action: rest }];
  });
  return document;
}

describe('the fleet functions’ policies (deploy/policies.cjs FLEET_FUNCTION_STATEMENTS)', () => {
  it.each(policies.FLEET_FUNCTIONS)(
    '%s does its work with its own policy and nothing is refused',
    async (fn) => {
      await asRole(fn, policies.fleetFunctionPolicy(fn), SCENARIOS[fn]);
      expect(stack.aws.denials()).toEqual([]);
    },
  );

  it('planFleet holds nothing but what the Lambda runtime does (its logs, tracing)', () => {
    expect(policies.FLEET_FUNCTION_STATEMENTS.planFleet).toEqual([]);
    expect(
      policies
        .fleetFunctionPolicy('planFleet')
        .Statement.flatMap((s) => list(s.Action))
        .every((a) => /^(logs|xray):/.test(a)),
    ).toBe(true);
  });

  it('listCandidates needs read on the users’ Vault paths: without it the pinned user is not placed, Vault refusing', async () => {
    const vault = vaultAdmin(target);
    const policyPath = `sys/policies/acl/${ROTATOR_ROLE}`;
    const { data } = (await vault.get(policyPath)) as { data: { data: { policy: string } } };
    const full = data.data.policy;
    const withoutRead = full.replace(
      'capabilities = ["create", "read", "update", "delete"]',
      'capabilities = ["create", "update", "delete"]',
    );
    expect(withoutRead).not.toBe(full);
    await vault.put(policyPath, { policy: withoutRead });
    try {
      await expect(
        asRole('listCandidates', policies.fleetFunctionPolicy('listCandidates'), SCENARIOS.listCandidates),
      ).rejects.toThrow();
      await asRole('listCandidates', policies.fleetFunctionPolicy('listCandidates'), async () => {
        const { due, listing } = await listHome();
        expect(due).toEqual([]);
        expect(listing.failedUsers).toEqual([
          expect.objectContaining({ userName: pinned.userName, error: 'VaultPermissionDeniedError' }),
        ]);
      });
    } finally {
      await vault.put(policyPath, { policy: full });
    }
    expect(stack.aws.denials()).toEqual([]);
  });

  it.each(mutations.filter((m) => !VIA_S3.has(m.action)))(
    '$fn needs $action',
    async ({ fn, action, index }) => {
      let roleArn = '';
      await expect(
        (async () => {
          roleArn = await asRole(fn, without(fn, action, index), SCENARIOS[fn]);
        })(),
      ).rejects.toThrow();
      const denials = stack.aws.denials();
      expect(denials.length).toBeGreaterThan(0);
      expect(
        denials.every((d) => d.action === action && d.roleArn.endsWith(`/iam-key-rotator-local-${fn}`)),
      ).toBe(true);
      expect(roleArn).toBe('');
    },
  );

  it.each(resourceMutations)('$fn needs $sid on $resource', async ({ fn, resource, index }) => {
    // A copy: the document's statements are the module's own.
    const document = structuredClone(policies.fleetFunctionPolicy(fn));
    const offset = document.Statement.length - policies.FLEET_FUNCTION_STATEMENTS[fn].length;
    const statement = document.Statement[offset + index];
    if (!statement || !Array.isArray(statement.Resource)) throw new Error(`no statement ${index} of ${fn}`);
    statement.Resource = statement.Resource.filter((r) => r !== resource);
    await expect(asRole(fn, document, SCENARIOS[fn])).rejects.toThrow();
    const denials = stack.aws.denials();
    expect(denials.length).toBeGreaterThan(0);
    expect(denials.every((d) => list(statement.Action).includes(d.action))).toBe(true);
  });

  it.each(mutations.filter((m) => VIA_S3.has(m.action)))(
    '$fn needs $action on the bucket’s key, through S3 only (evaluated)',
    ({ fn, action, index }) => {
      const values = policyValues();
      const keyArn = stack.fleetBucket.keyArn;
      const decide = (document: PolicyDocument, via: string | undefined) =>
        evaluate(parsePolicy(JSON.stringify(renderLocally(document, values))), {
          action,
          resource: keyArn,
          context: conditionKeys({ 'kms:ViaService': via }),
        });
      const s3Service = `s3.${stack.aws.region}.amazonaws.com`;
      expect(decide(policies.fleetFunctionPolicy(fn), s3Service)).toBe('allow');
      expect(decide(without(fn, action, index), s3Service)).toBe('implicit-deny');
      // Called directly, or through another service, the key is refused.
      expect(decide(policies.fleetFunctionPolicy(fn), undefined)).toBe('implicit-deny');
      expect(
        decide(policies.fleetFunctionPolicy(fn), `secretsmanager.${stack.aws.region}.amazonaws.com`),
      ).toBe('implicit-deny');
    },
  );
});
