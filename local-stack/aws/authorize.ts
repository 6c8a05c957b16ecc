import type { Access } from './access.js';
import type { AwsService, Principal } from './auth.js';
import { AwsServiceError } from './errors.js';
import { evaluate } from './policy/evaluate.js';
import { isJsonService } from './protocol.js';
import type { AuthorizationLog, Denial } from './state.js';
import { assumedRoleArn } from './sts.js';

/**
 * Evaluates the call's authorizations against the caller's identity policies. Only sessions of
 * roles made with CreateRole are evaluated: local-admin and IAM users may call everything, as
 * before (the rotation's users only ever call sts:GetCallerIdentity). Every denial is recorded.
 */
export function authorize(
  service: AwsService,
  principal: Principal,
  requests: Access[],
  log: AuthorizationLog,
): void {
  if (principal.kind !== 'role' || principal.session.role === undefined) return;
  const { session } = principal;
  const { role } = principal.session;
  const caller = assumedRoleArn(session);
  const statements = [...role.policies.values()].flatMap((policy) => policy.statements);
  for (const request of requests) {
    // The global keys every request of the session carries.
    const context = new Map(request.context);
    context.set('aws:principalarn', [role.arn]);
    context.set('aws:principalaccount', [session.accountId]);
    if (session.sourceIdentity !== undefined) context.set('aws:sourceidentity', [session.sourceIdentity]);
    const decision = evaluate(statements, { ...request, context });
    if (decision === 'allow') {
      log.allowed.add(`${role.arn} ${request.action}`);
      continue;
    }
    const denial: Denial = {
      action: request.action,
      resource: request.resource,
      principal: caller,
      roleArn: role.arn,
      reason: decision,
    };
    log.denials.push(denial);
    throw accessDenied(service, denial, request.shown);
  }
}

/** AWS's words: AccessDenied (403) from IAM and STS, AccessDeniedException (400) from the JSON services. */
function accessDenied(service: AwsService, denial: Denial, shown: string): AwsServiceError {
  const why =
    denial.reason === 'explicit-deny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${denial.action} action`;
  const message = `User: ${denial.principal} is not authorized to perform: ${denial.action} on resource: ${shown} ${why}`;
  return isJsonService(service)
    ? new AwsServiceError('AccessDeniedException', message, 400)
    : new AwsServiceError('AccessDenied', message, 403);
}
