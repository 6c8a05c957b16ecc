import { ConfigurationError } from './errors.js';
import * as z from './zod.js';

/**
 * The environment as `schema` reads it; throws ConfigurationError naming every bad variable, so a
 * deployment mistake is reported whole, not one variable per failed invocation.
 */
export function parseEnvironment<T extends z.ZodMiniType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = z.safeParse(schema, env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}
