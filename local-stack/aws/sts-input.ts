import { AwsServiceError, validationError } from './errors.js';
import { optional, required } from './params.js';

/** AssumeRole's parameters the emulator models, checked as the SDK model constrains them. */
export interface AssumeRoleInput {
  roleArn: string;
  /** The role's account and name, from its ARN. */
  accountId: string;
  roleName: string;
  sessionName: string;
  durationSeconds: number;
  externalId?: string;
  sourceIdentity?: string;
}

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const MIN_DURATION_S = 900;
const MAX_DURATION_S = 43_200;
const DEFAULT_DURATION_S = 3600;

/** A string member with the model's length bounds and pattern (`shown` is the pattern as AWS prints it). */
function checkString(
  value: string | undefined,
  member: string,
  [min, max]: [number, number],
  pattern: RegExp,
  shown: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < min) {
    throw validationError(value, member, `Member must have length greater than or equal to ${min}`);
  }
  if (value.length > max) {
    throw validationError(value, member, `Member must have length less than or equal to ${max}`);
  }
  if (!pattern.test(value)) {
    throw validationError(value, member, `Member must satisfy regular expression pattern: ${shown}`);
  }
  return value;
}

/** Reads AssumeRole's parameters, or throws the ValidationError STS answers. */
export function readAssumeRole(params: URLSearchParams): AssumeRoleInput {
  // A session policy narrows the session: ignoring one would grant more than asked, so it is refused.
  if ([...params.keys()].some((key) => key === 'Policy' || key.startsWith('PolicyArns.'))) {
    throw new AwsServiceError(
      'ValidationError',
      'The AWS emulator does not model session policies (Policy, PolicyArns).',
      400,
    );
  }
  const roleArn = required(params, 'RoleArn', 'roleArn');
  const sessionName = required(params, 'RoleSessionName', 'roleSessionName');
  const [, accountId, roleName] = ROLE_ARN.exec(roleArn) ?? [];
  if (!accountId || !roleName) {
    throw validationError(roleArn, 'roleArn', 'Member must be the ARN of an IAM role');
  }
  if (!SESSION_NAME.test(sessionName)) {
    throw validationError(
      sessionName,
      'roleSessionName',
      'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    );
  }
  const durationText = optional(params, 'DurationSeconds');
  const durationSeconds = durationText === undefined ? DEFAULT_DURATION_S : Number(durationText);
  if (
    !Number.isInteger(durationSeconds) ||
    durationSeconds < MIN_DURATION_S ||
    durationSeconds > MAX_DURATION_S
  ) {
    throw validationError(
      durationText,
      'durationSeconds',
      `Member must have value between ${MIN_DURATION_S} and ${MAX_DURATION_S}`,
    );
  }
  const externalId = checkString(
    optional(params, 'ExternalId'),
    'externalId',
    [2, 1224],
    /^[\w+=,.@:/-]*$/,
    '[\\w+=,.@:\\/-]*',
  );
  // The pattern leaves out `:`, so the reserved `aws:` prefix is refused too.
  const sourceIdentity = checkString(
    optional(params, 'SourceIdentity'),
    'sourceIdentity',
    [2, 64],
    /^[\w+=,.@-]*$/,
    '[\\w+=,.@-]*',
  );
  return {
    roleArn,
    accountId,
    roleName,
    sessionName,
    durationSeconds,
    ...(externalId === undefined ? {} : { externalId }),
    ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
  };
}
