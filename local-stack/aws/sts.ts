import type { CallContext, QueryHandler } from './context.js';
import { validationError } from './errors.js';
import { newRoleId, newSecretAccessKey, newSessionKeyId, newSessionToken } from './ids.js';
import { optional, required } from './params.js';
import type { Session } from './state.js';
import { xmlDate } from './xml.js';

// Any syntactically valid role ARN can be assumed (trust policies are not evaluated); a session
// of a role made with CreateRole is evaluated against that role's policies.
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const MIN_DURATION_S = 900;
const MAX_DURATION_S = 43_200;
const DEFAULT_DURATION_S = 3600;

function assumeRole(params: URLSearchParams, { state }: CallContext) {
  const roleArn = required(params, 'RoleArn', 'roleArn');
  const sessionName = required(params, 'RoleSessionName', 'roleSessionName');
  const parts = ROLE_ARN.exec(roleArn);
  const [, accountId, roleName] = parts ?? [];
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
  const duration = durationText === undefined ? DEFAULT_DURATION_S : Number(durationText);
  if (!Number.isInteger(duration) || duration < MIN_DURATION_S || duration > MAX_DURATION_S) {
    throw validationError(
      durationText,
      'durationSeconds',
      `Member must have value between ${MIN_DURATION_S} and ${MAX_DURATION_S}`,
    );
  }
  const emulated = state.roles.get(roleName);
  const role = emulated?.arn === roleArn ? emulated : undefined;
  const roleId = role?.roleId ?? state.roleIds.get(roleArn) ?? newRoleId();
  state.roleIds.set(roleArn, roleId);
  const session: Session = {
    accessKeyId: newSessionKeyId(),
    secretAccessKey: newSecretAccessKey(),
    sessionToken: newSessionToken(),
    expiration: new Date(Date.now() + duration * 1000),
    accountId,
    roleName,
    roleId,
    sessionName,
    ...(role ? { role } : {}),
  };
  state.sessions.set(session.accessKeyId, session);
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: xmlDate(session.expiration),
    },
    AssumedRoleUser: { AssumedRoleId: `${roleId}:${sessionName}`, Arn: assumedRoleArn(session) },
  };
}

export const assumedRoleArn = (session: Session): string =>
  `arn:aws:sts::${session.accountId}:assumed-role/${session.roleName}/${session.sessionName}`;

export const stsActions: ReadonlyMap<string, QueryHandler> = new Map<string, QueryHandler>([
  [
    'GetCallerIdentity',
    (_params, { principal, state }) =>
      principal.kind === 'user'
        ? { UserId: principal.user.userId, Account: state.accountId, Arn: principal.user.arn }
        : {
            UserId: `${principal.session.roleId}:${principal.session.sessionName}`,
            Account: principal.session.accountId,
            Arn: assumedRoleArn(principal.session),
          },
  ],
  ['AssumeRole', assumeRole],
]);
