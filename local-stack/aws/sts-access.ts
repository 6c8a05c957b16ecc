import { conditionKeys, type Access, type QueryAccess } from './access.js';
import { AwsServiceError } from './errors.js';
import { readAssumeRole } from './sts-input.js';

/** AssumeRole asks for sts:AssumeRole on the role, and sts:SetSourceIdentity when it sets one. */
const assumeRoleAccess: QueryAccess = (params) => {
  let input;
  try {
    input = readAssumeRole(params);
  } catch (error) {
    // The operation answers the ValidationError.
    if (error instanceof AwsServiceError) return [];
    throw error;
  }
  const { roleArn, sourceIdentity } = input;
  const context = conditionKeys({ 'sts:ExternalId': input.externalId, 'sts:SourceIdentity': sourceIdentity });
  const access = (action: string): Access => ({ action, resource: roleArn, shown: roleArn, context });
  return [
    access('sts:AssumeRole'),
    ...(sourceIdentity === undefined ? [] : [access('sts:SetSourceIdentity')]),
  ];
};

/** The IAM action, resource and condition keys of every emulated STS operation. */
export const stsAccess: ReadonlyMap<string, QueryAccess> = new Map<string, QueryAccess>([
  // Anyone may ask who they are: no permission is needed.
  ['GetCallerIdentity', () => []],
  ['AssumeRole', assumeRoleAccess],
]);
