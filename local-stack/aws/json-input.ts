import type { z } from 'zod';
import { AwsServiceError } from './errors.js';

/** Validates an awsJson1_1 input; the first problem becomes a ValidationException, as in AWS. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue ? issue.path.join('.') : 'input';
  throw new AwsServiceError(
    'ValidationException',
    `1 validation error detected: '${where}' ${issue?.message ?? 'is invalid'}`,
    400,
  );
}

/** A Coral constraint failure in the JSON services' words: `Value '…' at 'member' failed to satisfy…`. */
export function constraintError(
  value: string | undefined,
  member: string,
  constraint: string,
): AwsServiceError {
  const shown = value === undefined ? 'null' : `'${value}'`;
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
    400,
  );
}
