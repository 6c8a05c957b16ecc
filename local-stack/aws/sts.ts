import type { AwsAccounts } from './accounts.js';
import { conditionKeys } from './access.js';
import type { Principal } from './auth.js';
import type { CallContext, QueryHandler } from './context.js';
import { AwsServiceError } from './errors.js';
import { newRoleId, newSecretAccessKey, newSessionKeyId, newSessionToken } from './ids.js';
import { trusts, type TrustCaller } from './policy/trust.js';
import { ADMIN_USER_NAME, type AwsState, type Role, type Session } from './state.js';
import { readAssumeRole, type AssumeRoleInput } from './sts-input.js';
import { xmlDate, type XmlObject } from './xml.js';

/** Role chaining (a session assuming a role) caps the new session at one hour. */
const CHAINED_MAX_DURATION_S = 3600;

export const assumedRoleArn = (session: Session): string =>
  `arn:aws:sts::${session.accountId}:assumed-role/${session.roleName}/${session.sessionName}`;

/** How the caller of AssumeRole appears to a trust policy and in AWS's messages. */
interface Caller extends TrustCaller {
  /** As AWS's messages name it: a user's ARN, or the session's assumed-role ARN. */
  arn: string;
  /** aws:PrincipalArn: a user's ARN, or the session's role ARN. */
  principalArn: string;
}

function callerOf(principal: Principal, state: AwsState): Caller {
  if (principal.kind === 'user') {
    const { arn } = principal.user;
    return { accountId: state.accountId, arn, principalArn: arn, arns: [arn] };
  }
  const { session } = principal;
  const arn = assumedRoleArn(session);
  return { accountId: session.accountId, arn, principalArn: session.roleArn, arns: [session.roleArn, arn] };
}

/**
 * AWS's refusal, recorded as a denial. A role that does not exist gets the same answer as an
 * untrusted caller: STS does not reveal which.
 */
function notAuthorized(
  accounts: AwsAccounts,
  caller: Caller,
  action: string,
  roleArn: string,
): AwsServiceError {
  accounts.denials.push({
    action,
    resource: roleArn,
    principal: caller.arn,
    roleArn: caller.principalArn,
    reason: 'untrusted',
  });
  return new AwsServiceError(
    'AccessDenied',
    `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${roleArn}`,
    403,
  );
}

/**
 * The role `input` names, once its trust policy lets the caller in; undefined for a role the
 * emulator does not hold, which only the local-admin of the role's account may assume (its
 * session is then not evaluated, as local-admin is not). local-admin stands in for the Lambda
 * service and the account's administrator: it assumes its own account's roles without their
 * trust policy (the local function roles trust lambda.amazonaws.com).
 */
function trustedRole(
  input: AssumeRoleInput,
  { principal, state, accounts }: CallContext,
): { account: AwsState; role: Role | undefined } {
  const caller = callerOf(principal, state);
  const account = accounts.get(input.accountId);
  const held = account?.roles.get(input.roleName);
  if (account === undefined) throw notAuthorized(accounts, caller, 'sts:AssumeRole', input.roleArn);
  const ownAdmin =
    principal.kind === 'user' && principal.user.userName === ADMIN_USER_NAME && state === account;
  if (held === undefined) {
    if (ownAdmin) return { account, role: undefined };
    throw notAuthorized(accounts, caller, 'sts:AssumeRole', input.roleArn);
  }
  // The name exists under another path: the ARN names no role.
  if (held.arn !== input.roleArn) throw notAuthorized(accounts, caller, 'sts:AssumeRole', input.roleArn);
  if (ownAdmin) return { account, role: held };
  const context = conditionKeys({
    'sts:ExternalId': input.externalId,
    'sts:SourceIdentity': input.sourceIdentity,
    'aws:PrincipalArn': caller.principalArn,
    'aws:PrincipalAccount': caller.accountId,
  });
  const actions = [
    'sts:AssumeRole',
    ...(input.sourceIdentity === undefined ? [] : ['sts:SetSourceIdentity']),
  ];
  for (const action of actions) {
    if (!trusts(held.trust, caller, action, context)) {
      throw notAuthorized(accounts, caller, action, input.roleArn);
    }
  }
  return { account, role: held };
}

/**
 * Temporary credentials for a role, in the role's account. The caller's identity policy was
 * evaluated before (sts-access.ts); here the role must exist and trust the caller.
 */
function assumeRole(params: URLSearchParams, ctx: CallContext): XmlObject {
  const input = readAssumeRole(params);
  if (ctx.principal.kind === 'role' && input.durationSeconds > CHAINED_MAX_DURATION_S) {
    throw new AwsServiceError(
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      400,
    );
  }
  const { account, role } = trustedRole(input, ctx);
  const roleId = role?.roleId ?? account.roleIds.get(input.roleArn) ?? newRoleId();
  account.roleIds.set(input.roleArn, roleId);
  const session: Session = {
    accessKeyId: newSessionKeyId(),
    secretAccessKey: newSecretAccessKey(),
    sessionToken: newSessionToken(),
    expiration: new Date(Date.now() + input.durationSeconds * 1000),
    accountId: input.accountId,
    roleArn: input.roleArn,
    roleName: input.roleName,
    roleId,
    sessionName: input.sessionName,
    ...(input.sourceIdentity === undefined ? {} : { sourceIdentity: input.sourceIdentity }),
    ...(role ? { role } : {}),
  };
  ctx.accounts.sessions.set(session.accessKeyId, session);
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: xmlDate(session.expiration),
    },
    AssumedRoleUser: { AssumedRoleId: `${roleId}:${input.sessionName}`, Arn: assumedRoleArn(session) },
    ...(input.sourceIdentity === undefined ? {} : { SourceIdentity: input.sourceIdentity }),
  };
}

export const stsActions: ReadonlyMap<string, QueryHandler> = new Map<string, QueryHandler>([
  [
    'GetCallerIdentity',
    // The account is the principal's: a user's own, or the assumed role's.
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
