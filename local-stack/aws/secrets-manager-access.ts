import { conditionKeys, field, type JsonAccess } from './access.js';
import { findSecret } from './secrets-manager.js';
import type { AwsState } from './state.js';

/** A secret's ARN; for one that does not exist (or a bad id), what the caller named. */
function secretArn(state: AwsState, secretId: string): string {
  try {
    return findSecret(state, secretId).arn;
  } catch {
    return secretId.startsWith('arn:')
      ? secretId
      : `arn:aws:secretsmanager:${state.region}:${state.accountId}:secret:${secretId}`;
  }
}

function onSecret(action: string, idField: 'SecretId' | 'Name'): JsonAccess {
  return (input, { state }) => {
    const id = field(input, idField);
    if (id === undefined) return [];
    const resource = secretArn(state, id);
    return [{ action, resource, shown: resource, context: conditionKeys({}) }];
  };
}

/** The IAM action, resource and condition keys of every emulated Secrets Manager operation. */
export const secretsManagerAccess: ReadonlyMap<string, JsonAccess> = new Map<string, JsonAccess>([
  ['CreateSecret', onSecret('secretsmanager:CreateSecret', 'Name')],
  ['GetSecretValue', onSecret('secretsmanager:GetSecretValue', 'SecretId')],
  ['PutSecretValue', onSecret('secretsmanager:PutSecretValue', 'SecretId')],
  ['DescribeSecret', onSecret('secretsmanager:DescribeSecret', 'SecretId')],
  ['DeleteSecret', onSecret('secretsmanager:DeleteSecret', 'SecretId')],
]);
