import { invalidToken } from './errors.js';

/** AWS's default and largest page for the List and GetExecutionHistory operations. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/**
 * One page of `items` and the token of the next. The token names what it pages (`scope`), so a
 * token of another listing is refused as InvalidToken, as AWS does.
 */
export function page<T>(
  items: T[],
  scope: string,
  maxResults: number | undefined,
  nextToken: string | undefined,
): { items: T[]; nextToken?: string } {
  const size = maxResults === undefined || maxResults === 0 ? DEFAULT_PAGE : maxResults;
  const offset = nextToken === undefined ? 0 : decode(nextToken, scope);
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    ...(end < items.length ? { nextToken: encode(scope, end) } : {}),
  };
}

const encode = (scope: string, offset: number): string =>
  Buffer.from(JSON.stringify({ scope, offset })).toString('base64');

function decode(token: string, scope: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      scope?: unknown;
      offset?: unknown;
    };
    if (
      parsed.scope === scope &&
      typeof parsed.offset === 'number' &&
      Number.isInteger(parsed.offset) &&
      parsed.offset >= 0
    ) {
      return parsed.offset;
    }
  } catch {
    // falls through to InvalidToken
  }
  throw invalidToken(token);
}
