// Fleet rotation's roles, as deploy/policies.cjs writes them, evaluated by the emulated IAM:
// listCandidates reads the users under the path and nothing else; each function reaches only the
// kinds of objects of the fleet bucket it reads or writes; reportToFleet answers task tokens and
// nothing else; the fleet machine's role runs its functions, its children and the Distributed Map.
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import policies, { type FleetFunctionName } from '../../deploy/policies.cjs';
import { startAwsEmulator, type AwsEmulator } from '../../local-stack/aws/index.js';
import { conditionKeys } from '../../local-stack/aws/access.js';
import { parsePolicy } from '../../local-stack/aws/policy/document.js';
import { evaluate } from '../../local-stack/aws/policy/evaluate.js';
import { localFleetBucket, renderLocally } from '../../local-stack/function-roles.js';

const USER_PATH = '/rotated/';
let aws: AwsEmulator;

let bucket: string;

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.createUser('in-path', USER_PATH);
  aws.createUser('elsewhere', '/other/');
  // The fleet bucket as the local stack names it (renderLocally's FleetBucket), and another.
  bucket = localFleetBucket(aws.region, aws.accountId).bucket;
  const s3 = new S3Client({ ...config(), credentials: aws.adminCredentials, forcePathStyle: true });
  for (const Bucket of [bucket, 'someone-elses-bucket']) await s3.send(new CreateBucketCommand({ Bucket }));
});

afterAll(async () => {
  await aws.close();
});

const config = () => ({ endpoint: aws.endpoint, region: aws.region, maxAttempts: 1 });

const values = () => ({
  region: aws.region,
  accountId: aws.accountId,
  sealingKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/unused`,
  pinKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/unused-pin`,
  claimKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/unused-claim`,
  userPath: USER_PATH,
});

const roles = new Map<FleetFunctionName, ReturnType<typeof makeRole>>();

/** Credentials of a role holding exactly the function's deployment policy (made once per function). */
function roleOf(fn: FleetFunctionName) {
  let role = roles.get(fn);
  if (!role) roles.set(fn, (role = makeRole(fn)));
  return role;
}

async function makeRole(fn: FleetFunctionName) {
  const admin = { ...config(), credentials: aws.adminCredentials };
  const iam = new IAMClient(admin);
  const roleName = `iam-key-rotator-local-${fn}`;
  const trust = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  };
  const role = await iam.send(
    new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }),
  );
  const document = renderLocally(policies.fleetFunctionPolicy(fn), values());
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: fn,
      PolicyDocument: JSON.stringify(document),
    }),
  );
  const assumed = await new STSClient(admin).send(
    new AssumeRoleCommand({ RoleArn: role.Role?.Arn, RoleSessionName: fn }),
  );
  const keys = assumed.Credentials;
  return {
    accessKeyId: keys?.AccessKeyId ?? '',
    secretAccessKey: keys?.SecretAccessKey ?? '',
    sessionToken: keys?.SessionToken ?? '',
  };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e as Error,
  );

describe('listCandidates’ role', () => {
  it('lists the users under the path, their tags and keys, and nothing else', async () => {
    const iam = new IAMClient({ ...config(), credentials: await roleOf('listCandidates') });
    const listed = await iam.send(new ListUsersCommand({ PathPrefix: USER_PATH }));
    expect(listed.Users?.map((u) => u.UserName)).toEqual(['in-path']);
    await expect(iam.send(new ListUserTagsCommand({ UserName: 'in-path' }))).resolves.toBeDefined();
    await expect(iam.send(new ListAccessKeysCommand({ UserName: 'in-path' }))).resolves.toBeDefined();
    // Outside the path, and any write, is refused.
    for (const call of [
      iam.send(new ListUsersCommand({})),
      iam.send(new ListUsersCommand({ PathPrefix: '/other/' })),
      iam.send(new ListAccessKeysCommand({ UserName: 'elsewhere' })),
      iam.send(new ListUserTagsCommand({ UserName: 'elsewhere' })),
      iam.send(new CreateAccessKeyCommand({ UserName: 'in-path' })),
      iam.send(
        new TagUserCommand({ UserName: 'in-path', Tags: [{ Key: 'iam-key-rotator:claim', Value: 'x' }] }),
      ),
    ]) {
      expect((await failure(call)).name).toBe('AccessDenied');
    }
  });
});

describe('reportToFleet’s role', () => {
  it('may answer a task token (the answer reaches Step Functions) and may not start executions', async () => {
    const sfn = new SFNClient({ ...config(), credentials: await roleOf('reportToFleet') });
    // Authorized: Step Functions refuses the token (InvalidToken), not the caller (AccessDeniedException).
    expect(
      (await failure(sfn.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })))).name,
    ).toBe('InvalidToken');
    expect(
      (await failure(sfn.send(new SendTaskFailureCommand({ taskToken: 'not-a-token', error: 'E' })))).name,
    ).toBe('InvalidToken');
    const machine = `arn:aws:states:${aws.region}:${aws.accountId}:stateMachine:iam-key-rotator-local`;
    expect(
      (await failure(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: '{}' })))).name,
    ).toBe('AccessDeniedException');
  });
});

/** A fleet run's object of each kind (functions/commons/fleet-store.ts runKeys), and some that are none. */
const OBJECTS = {
  due: 'runs/nightly/due/123456789012.jsonl',
  account: 'runs/nightly/accounts/123456789012.json',
  manifest: 'runs/nightly/due.manifest',
  result: 'runs/nightly/results/0b5e/SUCCEEDED_0.json',
  summary: 'runs/nightly/summary.json',
  outsideRuns: 'elsewhere/summary.json',
  runsRoot: 'runs/manifest.json',
};
type Kind = keyof typeof OBJECTS;
const KINDS = Object.keys(OBJECTS) as Kind[];

describe('each fleet function’s part of the fleet bucket', () => {
  /** What a function may do with each kind of object: put, get, both or neither. */
  const ACCESS: Record<FleetFunctionName, { put: Kind[]; get: Kind[] }> = {
    planFleet: { put: [], get: [] },
    listCandidates: { put: ['due', 'account'], get: [] },
    writeFleetManifest: { put: ['manifest'], get: [] },
    summarizeFleet: { put: ['summary'], get: ['result', 'account'] },
    reportToFleet: { put: [], get: [] },
  };

  it.each(policies.FLEET_FUNCTIONS)(
    '%s writes and reads only its own kinds of objects, in the fleet bucket only',
    async (fn) => {
      const s3 = new S3Client({ ...config(), credentials: await roleOf(fn), forcePathStyle: true });
      const outcome = (promise: Promise<unknown>) =>
        promise.then(
          () => 'allowed',
          (e: Error) => (e.name === 'AccessDenied' ? 'denied' : 'allowed'),
        );
      for (const kind of KINDS) {
        const Key = OBJECTS[kind];
        const put = await outcome(s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '{}' })));
        expect(put, `${fn} put ${kind}`).toBe(ACCESS[fn].put.includes(kind) ? 'allowed' : 'denied');
        // A missing object is NoSuchKey for whoever may read it.
        const get = await outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key })));
        expect(get, `${fn} get ${kind}`).toBe(ACCESS[fn].get.includes(kind) ? 'allowed' : 'denied');
        const other = await outcome(
          s3.send(new PutObjectCommand({ Bucket: 'someone-elses-bucket', Key, Body: '{}' })),
        );
        expect(other, `${fn} put ${kind} elsewhere`).toBe('denied');
      }
    },
  );
});

describe('the fleet machine’s role (fleetStateMachinePolicy), evaluated', () => {
  const REGION = 'us-east-1';
  const ACCOUNT = '123456789012';
  const statements = () =>
    parsePolicy(
      JSON.stringify(
        renderLocally(policies.fleetStateMachinePolicy(), {
          ...values(),
          region: REGION,
          accountId: ACCOUNT,
        }),
      ),
    );
  const fleet = localFleetBucket(REGION, ACCOUNT);
  const decide = (action: string, resource: string, context: Record<string, string> = {}) =>
    evaluate(statements(), { action, resource, context: conditionKeys(context) });
  const machine = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
  const execution = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${name}`;
  const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:iam-key-rotator-local-${name}`;
  const object = (kind: Kind) => `arn:aws:s3:::${fleet.bucket}/${OBJECTS[kind]}`;

  it('invokes the fleet’s four steps, nothing else', () => {
    for (const step of ['planFleet', 'listCandidates', 'writeFleetManifest', 'summarizeFleet']) {
      expect(decide('lambda:InvokeFunction', fn(step)), step).toBe('allow');
    }
    for (const other of ['reportToFleet', 'createKey', 'storeInVault']) {
      expect(decide('lambda:InvokeFunction', fn(other)), other).toBe('implicit-deny');
    }
  });

  it('starts rotations and the Distributed Map’s child workflows (executions of the fleet machine itself), and supervises only those children', () => {
    expect(decide('states:StartExecution', machine('iam-key-rotator-local'))).toBe('allow');
    expect(decide('states:StartExecution', machine('iam-key-rotator-fleet-local'))).toBe('allow');
    expect(decide('states:StartExecution', machine('another-machine'))).toBe('implicit-deny');
    const child = execution(
      'iam-key-rotator-fleet-local/RotateDueUsers:2f6e3d1c-5a0b-4c1e-9f4b-7b1f0c2d3e4f',
    );
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(decide(action, child), action).toBe('allow');
      // Not the fleet's own executions, not the rotations: `.waitForTaskToken` needs neither.
      expect(decide(action, execution('iam-key-rotator-fleet-local:nightly')), action).toBe('implicit-deny');
      expect(decide(action, execution('iam-key-rotator-local:fleet-0123-alice')), action).toBe(
        'implicit-deny',
      );
    }
    expect(decide('states:SendTaskSuccess', '*')).toBe('implicit-deny');
  });

  it('the ItemReader reads the manifest and the due users; the ResultWriter writes the results; nothing else of the bucket', () => {
    const reads: Kind[] = ['manifest', 'due', 'result'];
    for (const kind of KINDS) {
      expect(decide('s3:GetObject', object(kind)), `get ${kind}`).toBe(
        reads.includes(kind) ? 'allow' : 'implicit-deny',
      );
      expect(decide('s3:PutObject', object(kind)), `put ${kind}`).toBe(
        kind === 'result' ? 'allow' : 'implicit-deny',
      );
    }
    for (const action of ['s3:ListMultipartUploadParts', 's3:AbortMultipartUpload']) {
      expect(decide(action, object('result')), action).toBe('allow');
      expect(decide(action, object('due')), action).toBe('implicit-deny');
    }
    expect(decide('s3:DeleteObject', object('result'))).toBe('implicit-deny');
    expect(decide('s3:ListBucket', `arn:aws:s3:::${fleet.bucket}`)).toBe('implicit-deny');
    expect(decide('s3:GetObject', `arn:aws:s3:::someone-elses-bucket/${OBJECTS.due}`)).toBe('implicit-deny');
  });

  it('uses the bucket’s key only through S3, and only to seal and open objects', () => {
    const via = { 'kms:ViaService': `s3.${REGION}.amazonaws.com` };
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
      expect(decide(action, fleet.keyArn, via), action).toBe('allow');
      expect(decide(action, fleet.keyArn), `${action} directly`).toBe('implicit-deny');
      expect(
        decide(action, `arn:aws:kms:${REGION}:${ACCOUNT}:key/another`, via),
        `${action} another key`,
      ).toBe('implicit-deny');
    }
    expect(decide('kms:Encrypt', fleet.keyArn, via)).toBe('implicit-deny');
  });
});
