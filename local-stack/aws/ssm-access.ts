import { conditionKeys, field, type Access, type JsonAccess } from './access.js';
import type { AwsState } from './state.js';

/**
 * A parameter as a resource: `parameter/<name without its leading slash>`, without a version
 * selector. (SecureString values also need kms:Decrypt in AWS; the emulator does not ask.)
 */
function onParameter(state: AwsState, action: string, reference: string): Access {
  const arnName = /^arn:aws:ssm:[^:]*:\d{12}:parameter\/(.+)$/.exec(reference)?.[1];
  const name = (arnName ?? reference.replace(/^\//, '')).replace(/:[^/]*$/, '');
  const resource = `arn:aws:ssm:${state.region}:${state.accountId}:parameter/${name}`;
  return { action, resource, shown: resource, context: conditionKeys({}) };
}

const byName =
  (action: string): JsonAccess =>
  (input, { state }) => {
    const name = field(input, 'Name');
    return name === undefined ? [] : [onParameter(state, action, name)];
  };

/** The IAM action, resource and condition keys of every emulated SSM operation. */
export const ssmAccess: ReadonlyMap<string, JsonAccess> = new Map<string, JsonAccess>([
  ['PutParameter', byName('ssm:PutParameter')],
  ['GetParameter', byName('ssm:GetParameter')],
  [
    'GetParameters',
    (input, { state }) => {
      const names = (input as { Names?: unknown } | null)?.Names;
      return Array.isArray(names)
        ? names
            .filter((n): n is string => typeof n === 'string')
            .map((n) => onParameter(state, 'ssm:GetParameters', n))
        : [];
    },
  ],
  ['DeleteParameter', byName('ssm:DeleteParameter')],
]);
