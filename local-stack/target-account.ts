import type { IAMClient } from '@aws-sdk/client-iam';
import {
  CreateRoleCommand,
  EntityAlreadyExistsException,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import policies from '../deploy/policies.cjs';
import type { PolicyDocument } from '../deploy/policies.cjs';
import { functionRoleArn } from './function-roles.js';

/** What deploy/target-account.yml's parameters are, for one member account of the local stack. */
export interface TargetAccountSettings {
  /** The member account the role is made in. */
  accountId: string;
  /** The rotator's account, whose step roles the target role trusts. */
  rotatorAccountId: string;
  externalId: string;
  roleName: string;
  userPath: string;
  region: string;
}

/**
 * The target role's two documents from deploy/policies.cjs, filled in as deploy/target-account.yml
 * fills them (its parameters: the step role ARNs, ExternalId, UserPath).
 */
export function targetRoleDocuments(settings: TargetAccountSettings): {
  trust: PolicyDocument;
  policy: PolicyDocument;
} {
  const values: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': settings.region,
    'AWS::AccountId': settings.accountId,
    ExternalId: settings.externalId,
    UserPath: settings.userPath,
    ...Object.fromEntries(
      policies.TARGET_STEPS.map((step) => [
        policies.roleArnVariable(step),
        functionRoleArn(settings.rotatorAccountId, step),
      ]),
    ),
  };
  return {
    trust: policies.render(policies.targetRoleTrustPolicy(), values),
    policy: policies.render(policies.targetRolePolicy(), values),
  };
}

/**
 * Makes the target role in a member account through IAM's own API, signed by that account's
 * administrator, as deploying deploy/target-account.yml there would; an existing role gets the
 * documents again. Returns the role's ARN.
 */
export async function provisionTargetRole(iam: IAMClient, settings: TargetAccountSettings): Promise<string> {
  const { trust, policy } = targetRoleDocuments(settings);
  const trustText = JSON.stringify(trust);
  let roleArn: string | undefined;
  try {
    roleArn = (
      await iam.send(
        new CreateRoleCommand({ RoleName: settings.roleName, AssumeRolePolicyDocument: trustText }),
      )
    ).Role?.Arn;
  } catch (error) {
    if (!(error instanceof EntityAlreadyExistsException)) throw error;
    await iam.send(
      new UpdateAssumeRolePolicyCommand({ RoleName: settings.roleName, PolicyDocument: trustText }),
    );
    roleArn = `arn:aws:iam::${settings.accountId}:role/${settings.roleName}`;
  }
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: settings.roleName,
      PolicyName: 'rotated-users',
      PolicyDocument: JSON.stringify(policy),
    }),
  );
  if (!roleArn) throw new Error(`IAM CreateRole returned no ARN for ${settings.roleName}`);
  return roleArn;
}
