import { z } from 'zod';
import { conditionMatches, type RequestContext } from './conditions.js';
import {
  ConditionBlock,
  list,
  MalformedPolicyError,
  normalizeCondition,
  parseStatements,
  Values,
} from './document.js';
import { wildcardMatch } from './wildcard.js';

/**
 * A role's trust policy (AssumeRolePolicyDocument): who may assume it. Its statements name a
 * Principal instead of a Resource (the role itself is the resource).
 */
const PrincipalSchema = z.union([
  z.literal('*'),
  z
    .strictObject({ AWS: Values.optional(), Service: Values.optional() })
    .refine((p) => p.AWS !== undefined || p.Service !== undefined, 'a Principal names AWS or Service'),
]);

const TrustStatementSchema = z
  .strictObject({
    Sid: z.string().optional(),
    Effect: z.enum(['Allow', 'Deny']),
    Principal: PrincipalSchema,
    Action: Values.optional(),
    NotAction: Values.optional(),
    Resource: z.unknown().optional(),
    Condition: ConditionBlock.optional(),
  })
  .refine((s) => s.Resource === undefined, 'Has prohibited field Resource')
  .refine(
    (s) => (s.Action === undefined) !== (s.NotAction === undefined),
    'exactly one of Action and NotAction',
  );

const TrustDocumentSchema = z.strictObject({
  Version: z.literal('2012-10-17'),
  Id: z.string().optional(),
  Statement: z.union([TrustStatementSchema, z.array(TrustStatementSchema).min(1)]),
});

/** An AWS principal: everyone, an account (12 digits or its root ARN), a user, a role or a role session. */
const AWS_PRINCIPAL =
  /^(\*|\d{12}|arn:aws:iam::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|arn:aws:sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+)$/;
const SERVICE_PRINCIPAL = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$/;

export interface TrustStatement {
  effect: 'Allow' | 'Deny';
  /** `*` for everyone; otherwise the AWS principals and service names listed. */
  principal: '*' | { aws: string[]; services: string[] };
  actions: { not: boolean; patterns: string[] };
  condition: Record<string, Record<string, string[]>>;
}

/** Parses a trust policy (as CreateRole receives it); refuses a principal IAM would refuse. */
export function parseTrustPolicy(text: string): TrustStatement[] {
  return parseStatements(text, TrustDocumentSchema).map((s) => {
    const principal =
      s.Principal === '*'
        ? ('*' as const)
        : { aws: list(s.Principal.AWS ?? []), services: list(s.Principal.Service ?? []) };
    if (principal !== '*') {
      for (const aws of principal.aws.filter((p) => !AWS_PRINCIPAL.test(p))) {
        throw new MalformedPolicyError(`Invalid principal in policy: "AWS":"${aws}"`);
      }
      for (const service of principal.services.filter((p) => !SERVICE_PRINCIPAL.test(p))) {
        throw new MalformedPolicyError(`Invalid principal in policy: "SERVICE":"${service}"`);
      }
    }
    return {
      effect: s.Effect,
      principal,
      actions: { not: s.NotAction !== undefined, patterns: list(s.Action ?? s.NotAction ?? []) },
      condition: normalizeCondition(s.Condition),
    };
  });
}

/** Who asks to assume a role: always an AWS principal (no emulated caller is a service). */
export interface TrustCaller {
  accountId: string;
  /** The ARNs a trust policy may name it by: a user's ARN; a session's role ARN and session ARN. */
  arns: readonly string[];
}

/** `*`, the caller's account (as 12 digits or its root ARN), or one of the caller's own ARNs. */
function principalMatches(principal: TrustStatement['principal'], caller: TrustCaller): boolean {
  if (principal === '*') return true;
  return principal.aws.some(
    (p) =>
      p === '*' ||
      p === caller.accountId ||
      p === `arn:aws:iam::${caller.accountId}:root` ||
      caller.arns.includes(p),
  );
}

/**
 * The trust policy's decision on one action (sts:AssumeRole, sts:SetSourceIdentity) for one
 * caller: an applying Deny wins, else an applying Allow allows.
 */
export function trusts(
  statements: readonly TrustStatement[],
  caller: TrustCaller,
  action: string,
  context: RequestContext,
): boolean {
  const applying = statements.filter(
    (s) =>
      principalMatches(s.principal, caller) &&
      s.actions.patterns.some((p) => wildcardMatch(p, action, { ignoreCase: true })) !== s.actions.not &&
      conditionMatches(s.condition, context),
  );
  return applying.length > 0 && applying.every((s) => s.effect === 'Allow');
}
