import { type ChildProcess, spawn } from 'node:child_process';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import {
  FUNCTIONS,
  type FunctionName,
  functionPolicy,
  type PolicyDocument,
  render,
} from '../deploy/policies.cjs';
import { ROTATOR_ROLE, type Target, USER_PATH, vaultAdmin } from './provision.js';

/** moto's fixed account (moto_server's default `MOTO_ACCOUNT_ID`). */
export const MOTO_ACCOUNT_ID = '123456789012';

/** The `moto_server` executable on the PATH, or null (it is a Python tool most laptops lack). */
export function findMotoServer(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port from the loopback listener'));
      });
    });
  });
}

export interface MotoServer {
  endpoint: string;
  /**
   * Turns moto's IAM authorization on or off from the next request. On, moto checks every request's
   * SigV4 signature and evaluates the signer's IAM policies. This is `INITIAL_NO_AUTH_ACTION_COUNT`
   * (authorization starts after that many requests), set through moto's own `/moto-api/reset-auth`
   * so provisioning need not count its requests (SDK retries would make a count fragile).
   */
  setAuthorization(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Spawns `moto_server` on a free loopback port and waits (bounded) until it answers. */
export async function startMoto(executable: string): Promise<MotoServer> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Authorization stays off until setAuthorization(true); no ambient setting may turn it on earlier.
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: 'inf' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString('utf8')}`.slice(-2_000);
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited(child);
    clearTimeout(timer);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    endpoint,
    async setAuthorization(on) {
      const response = await fetch(`${endpoint}/moto-api/reset-auth`, {
        method: 'POST',
        body: on ? '0' : 'inf',
      });
      if (!response.ok) throw new Error(`moto reset-auth answered ${response.status}`);
      await response.arrayBuffer();
    },
    close,
  };
}

/**
 * An administrator user in moto with an access key: the target's credentials. moto answers
 * GetCallerIdentity for a key it does not know with `arn:aws:sts::<account>:user/moto` (real STS
 * refuses it), which no Vault role can bind, so provisioning needs an identity moto knows.
 */
export async function createMotoAdmin(
  endpoint: string,
  region: string,
): Promise<{ accessKeyId: string; secretAccessKey: string; arn: string }> {
  const iam = new IAMClient({
    region,
    endpoint,
    // moto accepts any signature while its authorization is off.
    credentials: { accessKeyId: 'AKIAMOTOBOOTSTRAP000', secretAccessKey: 'bootstrap'.padEnd(40, '0') },
  });
  const user = await iam.send(new CreateUserCommand({ UserName: 'moto-admin' }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: 'moto-admin',
      PolicyName: 'administrator',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'moto-admin' }))).AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey || !user.User?.Arn) throw new Error('moto made no admin key');
  return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey, arn: user.User.Arn };
}

/** The deployment's names, as serverless.yml sets them for the local stage. */
const SERVICE = 'iam-key-rotator';
const STAGE = 'local';

/**
 * moto's authorization matches a statement's Resource against the resource of the request, and
 * for IAM users, KMS and STS (but AssumeRole) that resource is always `*`: a statement scoped to
 * ARNs never allows anything there. Widening every Resource to `*` is the one change that lets moto
 * evaluate what it can: Effect and Action. Conditions stay; moto passes them (it evaluates only
 * StringEquals, and only against AssumeRole's parameters).
 */
export function widenedForMoto(document: PolicyDocument): PolicyDocument {
  return {
    ...document,
    Statement: document.Statement.map((statement) =>
      statement.Resource === undefined ? statement : { ...statement, Resource: '*' },
    ),
  };
}

/** A function's deployment policy rendered with moto's account, the region and the sealing key. */
export function motoFunctionPolicy(fn: FunctionName, region: string, sealingKeyArn: string): PolicyDocument {
  return render(functionPolicy(fn), {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': MOTO_ACCOUNT_ID,
    Service: SERVICE,
    Stage: STAGE,
    UserPath: USER_PATH,
    SealingKeyArn: sealingKeyArn,
  });
}

export interface FunctionIdentities {
  /** Per function, the credentials of its role's session, as the Lambda runtime gives them. */
  functionEnvironment: Record<FunctionName, Record<string, string>>;
  roleArns: Record<FunctionName, string>;
}

/**
 * One IAM role per function in moto, holding the function's deployment policy (resources widened,
 * see widenedForMoto), and a session of it from AssumeRole: what Lambda gives each function. Done
 * while moto's authorization is off; the Vault role is bound to every function's role instead of
 * the provisioning identity.
 */
export async function provisionFunctionRoles(target: Target, kmsKeyId: string): Promise<FunctionIdentities> {
  const config = {
    region: target.aws.region,
    endpoint: target.aws.endpoint,
    credentials: target.aws.credentials,
  };
  const iam = new IAMClient(config);
  const sts = new STSClient(config);
  const keyArn = (await new KMSClient(config).send(new DescribeKeyCommand({ KeyId: kmsKeyId }))).KeyMetadata
    ?.Arn;
  if (!keyArn) throw new Error(`moto does not describe the sealing key ${kmsKeyId}`);
  const provisioner = (await sts.send(new GetCallerIdentityCommand({}))).Arn;
  const trust = JSON.stringify({
    Version: '2012-10-17',
    // Lambda assumes the role in AWS; here the provisioning identity stands in for it.
    Statement: [{ Effect: 'Allow', Principal: { AWS: provisioner }, Action: 'sts:AssumeRole' }],
  });
  const functionEnvironment = {} as FunctionIdentities['functionEnvironment'];
  const roleArns = {} as FunctionIdentities['roleArns'];
  for (const fn of FUNCTIONS) {
    const roleName = `${SERVICE}-${STAGE}-${fn}`;
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trust }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: `${SERVICE}-${STAGE}-${fn}`,
        PolicyDocument: JSON.stringify(widenedForMoto(motoFunctionPolicy(fn, target.aws.region, keyArn))),
      }),
    );
    const roleArn = role.Role?.Arn ?? '';
    const session = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: fn }));
    const credentials = session.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken)
      throw new Error(`moto gave no session for ${roleName}`);
    roleArns[fn] = roleArn;
    functionEnvironment[fn] = {
      AWS_ACCESS_KEY_ID: credentials.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.SecretAccessKey,
      AWS_SESSION_TOKEN: credentials.SessionToken,
    };
  }
  if (target.vaultAuth === 'aws') {
    await vaultAdmin(target).post(`auth/aws/role/${ROTATOR_ROLE}`, {
      bound_iam_principal_arn: Object.values(roleArns),
    });
  }
  return { functionEnvironment, roleArns };
}
