import { conditionKeys, type QueryAccess } from './access.js';

/** The IAM action, resource and condition keys of every emulated STS operation. */
export const stsAccess: ReadonlyMap<string, QueryAccess> = new Map<string, QueryAccess>([
  // Anyone may ask who they are: no permission is needed.
  ['GetCallerIdentity', () => []],
  [
    'AssumeRole',
    (params) => {
      const roleArn = params.get('RoleArn');
      return roleArn === null
        ? []
        : [{ action: 'sts:AssumeRole', resource: roleArn, shown: roleArn, context: conditionKeys({}) }];
    },
  ],
]);
