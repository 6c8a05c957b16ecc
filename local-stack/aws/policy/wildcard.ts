/** IAM's `*` (any run of characters, `/` and `:` included) and `?` (any one character). */
export function wildcardMatch(
  pattern: string,
  value: string,
  options: { ignoreCase?: boolean } = {},
): boolean {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, options.ignoreCase ? 'is' : 's').test(value);
}

/**
 * ArnLike: the six colon-separated parts match one by one, so a `*` never spans a `:` between
 * them (a resource part keeps its own colons).
 */
export function arnLike(pattern: string, arn: string): boolean {
  const parts = (text: string) => {
    const split = text.split(':');
    return split.length < 6 ? undefined : [...split.slice(0, 5), split.slice(5).join(':')];
  };
  const want = parts(pattern);
  const have = parts(arn);
  if (!want || !have) return false;
  return want.every((part, i) => wildcardMatch(part, have[i] ?? ''));
}
