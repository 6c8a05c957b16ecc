// The rotator's deployment in moto: an administrator, and one IAM role per function.
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
import policies from '../deploy/policies.cjs';
import type { FunctionName, PolicyDocument } from '../deploy/policies.cjs';
import { functionRoleName, localFunctionPolicy } from './function-roles.js';
import { type Provisioned, ROTATOR_ROLE, type Target, USER_PATH, vaultAdmin } from './provision.js';

/** moto's fixed account (moto_server's default `MOTO_ACCOUNT_ID`). */
export const MOTO_ACCOUNT_ID = '123456789012';

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
    credentials: { accessKeyId: 'moto-bootstrap', secretAccessKey: 'bootstrap'.padEnd(40, '0') },
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

export interface FunctionIdentities {
  /** Per function, the credentials of its role's session, as the Lambda runtime gives them. */
  functionEnvironment: Record<FunctionName, Record<string, string>>;
  roleArns: Record<FunctionName, string>;
}

/**
 * One IAM role per function in moto, named and rendered as on the local stack
 * (`function-roles.ts`) but with resources widened (see widenedForMoto), and a session of it from
 * AssumeRole: what Lambda gives each function. Done while moto's authorization is off. The Vault
 * role is bound to the functions' roles instead of the provisioning identity.
 */
export async function provisionFunctionRoles(
  target: Target,
  keys: Pick<Provisioned, 'kmsKeyId' | 'pinKeyId' | 'claimKeyId'>,
): Promise<FunctionIdentities> {
  const config = {
    region: target.aws.region,
    endpoint: target.aws.endpoint,
    credentials: target.aws.credentials,
  };
  const iam = new IAMClient(config);
  const sts = new STSClient(config);
  const keyArn = (await new KMSClient(config).send(new DescribeKeyCommand({ KeyId: keys.kmsKeyId })))
    .KeyMetadata?.Arn;
  if (!keyArn) throw new Error(`moto does not describe the sealing key ${keys.kmsKeyId}`);
  const provisioner = (await sts.send(new GetCallerIdentityCommand({}))).Arn;
  const trust = JSON.stringify({
    Version: '2012-10-17',
    // Lambda assumes the role in AWS; here the provisioning identity stands in for it.
    Statement: [{ Effect: 'Allow', Principal: { AWS: provisioner }, Action: 'sts:AssumeRole' }],
  });
  const functionEnvironment = {} as FunctionIdentities['functionEnvironment'];
  const roleArns = {} as FunctionIdentities['roleArns'];
  for (const fn of policies.FUNCTIONS) {
    const roleName = functionRoleName(fn);
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trust }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: roleName,
        PolicyDocument: JSON.stringify(
          widenedForMoto(
            localFunctionPolicy(fn, {
              region: target.aws.region,
              accountId: MOTO_ACCOUNT_ID,
              sealingKeyArn: keyArn,
              pinKeyArn: keys.pinKeyId,
              claimKeyArn: keys.claimKeyId,
              userPath: USER_PATH,
            }),
          ),
        ),
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
    // Every function that talks to Vault; validateInput does not.
    await vaultAdmin(target).post(`auth/aws/role/${ROTATOR_ROLE}`, {
      bound_iam_principal_arn: policies.FUNCTIONS.filter((fn) => fn !== 'validateInput').map(
        (fn) => roleArns[fn],
      ),
    });
  }
  return { functionEnvironment, roleArns };
}
