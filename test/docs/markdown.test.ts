// README.md and docs/**/*.md, as a reader meets them on GitHub and in a terminal: every relative link
// and #anchor resolves (GitHub's heading slugs), every repository path named in code exists, every
// page says what it is for and links back to the README, and no table cell is longer than a line.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/reference-docs.js';

/** The longest table cell, in characters: a line of a terminal, not a paragraph. */
const MAX_CELL = 120;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}
const FILES = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];
const name = (file: string) => relative(ROOT, file);

/** The lines outside fenced code blocks and HTML comments, numbered from 1. */
function prose(file: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = [];
  let fence: string | undefined;
  let comment = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const marker = /^\s*(```|~~~)/.exec(text)?.[1];
      if (fence) {
        if (marker === fence) fence = undefined;
        return;
      }
      if (marker) {
        fence = marker;
        return;
      }
      if (comment || text.trimStart().startsWith('<!--')) {
        comment = !text.includes('-->');
        return;
      }
      lines.push({ line: index + 1, text });
    });
  return lines;
}

/** A line without its code spans (what is inside them is neither a link nor markup). */
const withoutCode = (text: string) => text.replace(/(`+)[^`]*?\1/g, '');

/** GitHub's anchor for a heading: its text lowercased, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a file's headings, numbered as GitHub numbers repeated ones (-1, -2, ...). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text } of prose(file)) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(text)?.[1];
    if (!heading) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Inline links and images: [text](target "title"), nested brackets in the text allowed. */
function links(file: string): { line: number; target: string }[] {
  return prose(file).flatMap(({ line, text }) =>
    [...withoutCode(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({
      line,
      target: m[1] ?? '',
    })),
  );
}

/** The cells of a table row, `\|` kept inside its cell. */
const cells = (row: string) =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());

describe('slug (GitHub heading anchors)', () => {
  it.each([
    ['One rotation: `npm start`', 'one-rotation-npm-start'],
    ["The sealing key's administrator", 'the-sealing-keys-administrator'],
    ['2. May tag users (`iam:TagUser`, `iam:UntagUser`)', '2-may-tag-users-iamtaguser-iamuntaguser'],
    ['`InvalidInputError`', 'invalidinputerror'],
    [
      'How it runs, and why a slot is not held through the waits',
      'how-it-runs-and-why-a-slot-is-not-held-through-the-waits',
    ],
  ])('%s → #%s', (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });
});

describe.each(FILES.map((file) => [name(file), file]))('%s', (_, file) => {
  it('has every relative link and #anchor resolve', () => {
    const broken: string[] = [];
    for (const { line, target } of links(file)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const resolved = path ? join(dirname(file), decodeURI(path)) : file;
      if (!existsSync(resolved)) {
        broken.push(`${line}: ${target} (no such file)`);
      } else if (anchor !== undefined && !(statSync(resolved).isFile() && anchors(resolved).has(anchor))) {
        broken.push(`${line}: ${target} (no such heading in ${name(resolved)})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const missing = prose(file).flatMap(({ line, text }) =>
      [
        ...text.matchAll(
          /`((?:bench|bin|cli|deploy|docs|functions|local-stack|scripts|statemachine|test|vault)\/[\w./-]*)`/g,
        ),
      ]
        .map((m) => m[1] ?? '')
        .filter((path) => !existsSync(join(ROOT, path)))
        .map((path) => `${line}: ${path}`),
    );
    expect(missing).toEqual([]);
  });

  it(`keeps every table cell within ${MAX_CELL} characters`, () => {
    const long = prose(file).flatMap(({ line, text }) =>
      text.trimStart().startsWith('|')
        ? cells(text)
            .filter((cell) => cell.length > MAX_CELL)
            .map((cell) => `${line}: ${cell.slice(0, 60)}… (${cell.length})`)
        : [],
    );
    expect(long).toEqual([]);
  });
});

describe.each(FILES.slice(1).map((file) => [name(file), file]))('%s', (_, file) => {
  it('says what it is for and links back to the README', () => {
    const opening = prose(file)
      .slice(0, 8)
      .map(({ text }) => text)
      .join('\n');
    expect(opening).toMatch(/^# \S/m);
    expect(opening).toMatch(/\]\((\.\.\/)+README\.md\)/);
  });
});
