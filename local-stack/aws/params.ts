import { validationError } from './errors.js';

/** A required awsQuery parameter; `member` is the camelCase name AWS uses in validation messages. */
export function required(params: URLSearchParams, name: string, member: string): string {
  const value = params.get(name);
  if (value === null) throw validationError(undefined, member, 'Member must not be null');
  return value;
}

export function optional(params: URLSearchParams, name: string): string | undefined {
  return params.get(name) ?? undefined;
}

/** Reads a list of structures: `Tags.member.1.Key=a&Tags.member.1.Value=b…` → [{Key: 'a', Value: 'b'}]. */
export function structList(params: URLSearchParams, name: string): Record<string, string>[] {
  const items = new Map<number, Record<string, string>>();
  const pattern = new RegExp(`^${name}\\.member\\.(\\d+)\\.(\\w+)$`);
  for (const [key, value] of params) {
    const match = pattern.exec(key);
    if (!match?.[1] || !match[2]) continue;
    const index = Number(match[1]);
    const item = items.get(index) ?? {};
    item[match[2]] = value;
    items.set(index, item);
  }
  return [...items].sort(([a], [b]) => a - b).map(([, item]) => item);
}
