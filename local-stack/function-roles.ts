import type { IAMClient } from '@aws-sdk/client-iam';
import {
  CreateRoleCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import policies from '../deploy/policies.cjs';
import type { FleetFunctionName, FunctionName, PolicyDocument, PolicySettings } from '../deploy/policies.cjs';
import { DEFAULT_MAX_DUE_PER_ACCOUNT } from '../functions/commons/fleet-input.js';
import type { FunctionEnvironment } from './function-environment.js';

/** The values the local stack renders the deployment's policy documents with. */
export interface PolicyValues {
  region: string;
  accountId: string;
  sealingKeyArn: string;
  /** The HMAC keys that sign the pin and the claim tags (policy variables PinKeyArn, ClaimKeyArn). */
  pinKeyArn: string;
  claimKeyArn: string;
  userPath: string;
  /** The role the steps assume in other accounts; default LOCAL_TARGET_ROLE_NAME. */
  targetRoleName?: string;
  /** The fleet's bucket and its KMS key (FleetBucket, FleetBucketKeyArn); default localFleetBucket's. */
  fleetBucket?: string;
  fleetBucketKeyArn?: string;
}

/** The target role's name in the local stack's member accounts (the deployment's default). */
export const LOCAL_TARGET_ROLE_NAME = 'iam-key-rotator-target';

export const LOCAL_SERVICE = 'iam-key-rotator';
export const LOCAL_STAGE = 'local';

/** The alias of the KMS key sealing the local fleet bucket's objects (the deployment's FleetBucketKey). */
export const LOCAL_FLEET_KEY_ALIAS = `alias/${LOCAL_SERVICE}-fleet-${LOCAL_STAGE}`;

/** The fleet bucket the local stack makes in its home account at start (the deployment's FleetBucket). */
export interface LocalFleetBucket {
  bucket: string;
  keyArn: string;
}

// The key each started stack made, by region and account: one per process, like the function
// environment's runtime, even when a test runner loads this module more than once.
const FLEET_KEYS = Symbol.for('iam-key-rotator.local-stack.fleet-keys');
const fleetKeys = ((globalThis as Record<symbol, Map<string, string> | undefined>)[FLEET_KEYS] ??= new Map());

/** Records the fleet bucket's key the stack made in an account, for the policies and the functions. */
export function registerLocalFleetKey(region: string, accountId: string, keyArn: string): void {
  fleetKeys.set(`${region} ${accountId}`, keyArn);
}

/**
 * The local fleet bucket of an account (named like the deployment's, with the account id) and its
 * key: the one the stack made, else the key's alias (where no stack made one, nothing writes).
 */
export function localFleetBucket(region: string, accountId: string): LocalFleetBucket {
  return {
    bucket: `${LOCAL_SERVICE}-fleet-${LOCAL_STAGE}-${accountId}`,
    keyArn:
      fleetKeys.get(`${region} ${accountId}`) ??
      `arn:aws:kms:${region}:${accountId}:${LOCAL_FLEET_KEY_ALIAS}`,
  };
}

/** The fleet machine's role locally: the role ARN the local stack registers the fleet machine with. */
export const FLEET_MACHINE_ROLE_NAME = `${LOCAL_SERVICE}-fleet-${LOCAL_STAGE}`;

/** The role each function runs as locally, named like the deployed function. */
export const functionRoleName = (fn: FunctionName | FleetFunctionName): string =>
  `${LOCAL_SERVICE}-${LOCAL_STAGE}-${fn}`;

/** The ARN the function's role gets (roles are made at the root path). */
export const functionRoleArn = (accountId: string, fn: FunctionName | FleetFunctionName): string =>
  `arn:aws:iam::${accountId}:role/${functionRoleName(fn)}`;

/** A function's policy document from deploy/policies.cjs, rendered for the local account. */
export function localFunctionPolicy(
  fn: FunctionName,
  values: PolicyValues,
  settings?: PolicySettings,
): PolicyDocument {
  return renderLocally(policies.functionPolicy(fn, settings), values);
}

/** Fills a document's `${...}` variables as the local stack's deployment would. */
export function renderLocally(document: PolicyDocument, values: PolicyValues): PolicyDocument {
  const fleet = localFleetBucket(values.region, values.accountId);
  return policies.render(document, {
    'AWS::Partition': 'aws',
    'AWS::Region': values.region,
    'AWS::AccountId': values.accountId,
    Service: LOCAL_SERVICE,
    Stage: LOCAL_STAGE,
    UserPath: values.userPath,
    SealingKeyArn: values.sealingKeyArn,
    PinKeyArn: values.pinKeyArn,
    ClaimKeyArn: values.claimKeyArn,
    TargetRoleName: values.targetRoleName ?? LOCAL_TARGET_ROLE_NAME,
    FleetBucket: values.fleetBucket ?? fleet.bucket,
    FleetBucketKeyArn: values.fleetBucketKeyArn ?? fleet.keyArn,
  });
}

/**
 * What serverless.yml gives the fleet machine's steps: the fleet bucket, its key and the
 * deployment's maxDuePerAccount (its default).
 */
export function fleetStepVariables(values: PolicyValues): Record<string, string> {
  const fleet = localFleetBucket(values.region, values.accountId);
  return {
    ROTATOR_FLEET_BUCKET: values.fleetBucket ?? fleet.bucket,
    ROTATOR_FLEET_BUCKET_KEY_ID: values.fleetBucketKeyArn ?? fleet.keyArn,
    ROTATOR_MAX_DUE_PER_ACCOUNT: String(DEFAULT_MAX_DUE_PER_ACCOUNT),
  };
}

const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** Creates the role, or finds it when an earlier provisioning on the same emulator made it. */
async function ensureRole(
  iam: IAMClient,
  roleName: string,
  trust = LAMBDA_TRUST,
): Promise<string | undefined> {
  try {
    const created = await iam.send(
      new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trust }),
    );
    return created.Role?.Arn;
  } catch (error) {
    if (!(error instanceof EntityAlreadyExistsException)) throw error;
    return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role?.Arn;
  }
}

export interface FunctionRoles {
  /** Each function's role ARN. */
  roleArns: Record<FunctionName, string>;
  /** Each function's credentials, as the Lambda runtime gives them: environment variables. */
  environment: FunctionEnvironment;
}

/**
 * Creates one role per function with its deployment policy (through IAM's own API, as the
 * administrator) and assumes each, as Lambda does for every function.
 */
export async function provisionFunctionRoles(
  clients: { iam: IAMClient; sts: STSClient },
  values: PolicyValues,
  settings?: PolicySettings,
): Promise<FunctionRoles> {
  const roleArns = {} as Record<FunctionName, string>;
  const environment: FunctionEnvironment = {};
  for (const fn of policies.FUNCTIONS) {
    const role = await roleWithPolicy(
      clients,
      functionRoleName(fn),
      localFunctionPolicy(fn, values, settings),
    );
    roleArns[fn] = role.roleArn;
    environment[fn] = role.environment;
  }
  Object.assign(environment, await provisionFleetRoles(clients, values, settings));
  await provisionFleetMachineRole(clients.iam, values);
  return { roleArns, environment };
}

const STATES_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/**
 * The fleet machine's role with the deployment's policy (`fleetStateMachinePolicy`): the local
 * Step Functions makes its Distributed Map's S3 calls (ItemReader, ResultWriter) as this role, and
 * the emulated IAM evaluates them against it, as AWS does.
 */
export async function provisionFleetMachineRole(iam: IAMClient, values: PolicyValues): Promise<string> {
  const roleArn = await ensureRole(
    iam,
    FLEET_MACHINE_ROLE_NAME,
    // Nothing assumes it locally (Step Functions acts as it in-process): no conditions to evaluate.
    STATES_TRUST,
  );
  if (!roleArn) throw new Error(`IAM CreateRole returned no ARN for ${FLEET_MACHINE_ROLE_NAME}`);
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: FLEET_MACHINE_ROLE_NAME,
      PolicyName: `${FLEET_MACHINE_ROLE_NAME}-policy`,
      PolicyDocument: JSON.stringify(renderLocally(policies.fleetStateMachinePolicy(), values)),
    }),
  );
  return roleArn;
}

/**
 * The fleet's functions' roles (policies.cjs FLEET_FUNCTIONS), each with its deployment policy
 * (`fleetFunctionPolicy`, with the AssumeTargetRole grant when `settings` names target accounts),
 * assumed as Lambda does: the fleet's functions run as their own roles too, so listCandidates
 * assumes a member account's target role as the role that role trusts. The fleet machine's steps
 * get the fleet bucket's variables too.
 */
export async function provisionFleetRoles(
  clients: { iam: IAMClient; sts: STSClient },
  values: PolicyValues,
  settings?: PolicySettings,
): Promise<FunctionEnvironment> {
  const environment: FunctionEnvironment = {};
  for (const fn of policies.FLEET_FUNCTIONS) {
    const document = renderLocally(policies.fleetFunctionPolicy(fn, settings), values);
    const role = await roleWithPolicy(clients, functionRoleName(fn), document);
    environment[fn] = {
      ...role.environment,
      ...(policies.FLEET_STEPS.includes(fn) ? fleetStepVariables(values) : {}),
    };
  }
  return environment;
}

/**
 * Creates (or finds) a Lambda role, puts `document` as its policy and assumes it: the role's ARN
 * and the credentials as the Lambda runtime gives them, as environment variables.
 */
export async function roleWithPolicy(
  clients: { iam: IAMClient; sts: STSClient },
  roleName: string,
  document: PolicyDocument,
): Promise<{ roleArn: string; environment: Record<string, string> }> {
  const roleArn = await ensureRole(clients.iam, roleName);
  if (!roleArn) throw new Error(`IAM CreateRole returned no ARN for ${roleName}`);
  await clients.iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: `${roleName}-policy`,
      PolicyDocument: JSON.stringify(document),
    }),
  );
  const assumed = await clients.sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: roleName, DurationSeconds: 43_200 }),
  );
  const keys = assumed.Credentials;
  if (!keys?.AccessKeyId || !keys.SecretAccessKey || !keys.SessionToken) {
    throw new Error(`STS AssumeRole returned no credentials for ${roleName}`);
  }
  return {
    roleArn,
    environment: {
      AWS_ACCESS_KEY_ID: keys.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.SecretAccessKey,
      AWS_SESSION_TOKEN: keys.SessionToken,
    },
  };
}
