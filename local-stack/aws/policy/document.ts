import { z } from 'zod';
import { OPERATORS } from './conditions.js';

/** What a policy document may say; anything else is refused when the policy is put. */
export const Values = z.union([z.string(), z.array(z.string()).min(1)]);
const ConditionValues = z.union([
  z.string(),
  z.boolean(),
  z.array(z.union([z.string(), z.boolean()])).min(1),
]);
export const ConditionBlock = z
  .record(z.string(), z.record(z.string(), ConditionValues))
  .refine(
    (condition) => Object.keys(condition).every((op) => OPERATORS.has(op.toLowerCase())),
    'a condition operator the emulator does not evaluate',
  );

const StatementSchema = z
  .strictObject({
    Sid: z.string().optional(),
    Effect: z.enum(['Allow', 'Deny']),
    Action: Values.optional(),
    NotAction: Values.optional(),
    Resource: Values.optional(),
    NotResource: Values.optional(),
    Condition: ConditionBlock.optional(),
  })
  .refine(
    (s) => (s.Action === undefined) !== (s.NotAction === undefined),
    'exactly one of Action and NotAction',
  )
  .refine(
    (s) => (s.Resource === undefined) !== (s.NotResource === undefined),
    'exactly one of Resource and NotResource',
  );

const DocumentSchema = z.strictObject({
  Version: z.literal('2012-10-17'),
  Id: z.string().optional(),
  Statement: z.union([StatementSchema, z.array(StatementSchema).min(1)]),
});

/** A statement with every list as a list. */
export interface Statement {
  sid: string | undefined;
  effect: 'Allow' | 'Deny';
  actions: { not: boolean; patterns: string[] };
  resources: { not: boolean; patterns: string[] };
  /** operator -> condition key -> values */
  condition: Record<string, Record<string, string[]>>;
}

export class MalformedPolicyError extends Error {}

export const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** A document's statements, as a list, once its JSON satisfies `schema`. */
export function parseStatements<S>(text: string, schema: z.ZodType<{ Statement: S | S[] }>): S[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MalformedPolicyError('Syntax errors in policy.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new MalformedPolicyError(z.prettifyError(parsed.error));
  const { Statement } = parsed.data;
  return Array.isArray(Statement) ? Statement : [Statement];
}

/** A Condition block with every value a list of strings. */
export function normalizeCondition(
  condition: z.infer<typeof ConditionBlock> | undefined,
): Record<string, Record<string, string[]>> {
  return Object.fromEntries(
    Object.entries(condition ?? {}).map(([op, keys]) => [
      op,
      Object.fromEntries(
        Object.entries(keys).map(([key, values]) => [
          key,
          (Array.isArray(values) ? values : [values]).map(String),
        ]),
      ),
    ]),
  );
}

/** Parses a policy document (as PutRolePolicy receives it) into statements. */
export function parsePolicy(text: string): Statement[] {
  return parseStatements(text, DocumentSchema).map((s) => ({
    sid: s.Sid,
    effect: s.Effect,
    actions: { not: s.NotAction !== undefined, patterns: list(s.Action ?? s.NotAction ?? []) },
    resources: { not: s.NotResource !== undefined, patterns: list(s.Resource ?? s.NotResource ?? []) },
    condition: normalizeCondition(s.Condition),
  }));
}
