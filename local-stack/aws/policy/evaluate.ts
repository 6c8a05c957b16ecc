import { conditionMatches, type RequestContext } from './conditions.js';
import type { Statement } from './document.js';
import { wildcardMatch } from './wildcard.js';

/** What a principal asks to do: the IAM action, the resource's ARN and the condition keys. */
export interface AccessRequest {
  /** service:Action, e.g. iam:CreateAccessKey */
  action: string;
  resource: string;
  context: RequestContext;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** Action names compare case-insensitively; resource ARNs case-sensitively. */
function statementApplies(statement: Statement, request: AccessRequest): boolean {
  const action = statement.actions.patterns.some((p) =>
    wildcardMatch(p, request.action, { ignoreCase: true }),
  );
  const resource = statement.resources.patterns.some((p) => wildcardMatch(p, request.resource));
  return (
    action !== statement.actions.not &&
    resource !== statement.resources.not &&
    conditionMatches(statement.condition, request.context)
  );
}

/**
 * AWS's evaluation of identity-based policies within one account: an applying Deny wins, else
 * an applying Allow allows, else the request is implicitly denied.
 */
export function evaluate(statements: readonly Statement[], request: AccessRequest): Decision {
  const applying = statements.filter((s) => statementApplies(s, request));
  if (applying.some((s) => s.effect === 'Deny')) return 'explicit-deny';
  return applying.some((s) => s.effect === 'Allow') ? 'allow' : 'implicit-deny';
}
