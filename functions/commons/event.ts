import * as z from './zod.js';
import { InvalidInputError } from './errors.js';

const MAX_MESSAGE = 1_000;

/**
 * A field name as the input spelled it, shown without spaces or punctuation: a name is input too,
 * and must not make an error read as another (the tamper alert matches a phrase in the cause).
 */
const shown = (key: PropertyKey) =>
  String(key)
    .slice(0, 64)
    .replace(/[^\w.-]/g, '_');

/** Summarises zod issues by path and rule; never echoes the rejected values. */
export function describeIssues(error: z.core.$ZodError): string {
  const text = error.issues
    .map((issue) => {
      const path = issue.path.map(shown).join('.') || '(input)';
      const keys = 'keys' in issue ? ` ${issue.keys.map(shown).join(', ')}` : '';
      return `${path}: ${issue.code === 'unrecognized_keys' ? `unknown field(s)${keys}` : issue.message}`;
    })
    .join('; ');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

/** Parses a step's event; a malformed event is a bug in the state machine, reported by name. */
export function parseEvent<S extends z.core.$ZodType>(schema: S, event: unknown, what = 'event'): z.infer<S> {
  const parsed = z.safeParse(schema, event);
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
