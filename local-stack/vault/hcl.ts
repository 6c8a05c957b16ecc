import { VaultEmulatorError } from './errors.js';

/** Thrown when a policy document is outside the HCL subset the emulator reads. */
export class PolicyParseError extends VaultEmulatorError {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyParseError';
  }
}

/** A value inside a list: what Vault's `[]interface{}` policy fields hold. */
export type HclScalar = string | number | boolean;

/** A field value: a string, a list, or an object of lists (`allowed_parameters = { "k" = [] }`). */
export type HclValue = string | HclScalar[] | Record<string, HclScalar[]>;

/** One `path "…" { key = value … }` block. */
export interface PathBlock {
  path: string;
  fields: Record<string, HclValue>;
}

type Token = { kind: 'string' | 'ident' | 'punct' | 'number'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (/\s/.test(ch)) i += 1;
    else if (ch === '#' || text.startsWith('//', i)) i = skipTo(text, '\n', i);
    else if (text.startsWith('/*', i)) i = skipTo(text, '*/', i) + 1;
    else if (ch === '"') {
      const [value, end] = readString(text, i);
      tokens.push({ kind: 'string', value });
      i = end;
    } else if ('{}[]=,'.includes(ch)) {
      tokens.push({ kind: 'punct', value: ch });
      i += 1;
    } else if (/[-\d]/.test(ch)) {
      const number = /^-?\d+(\.\d+)?/.exec(text.slice(i))?.[0];
      if (!number) throw new PolicyParseError(`unexpected character ${JSON.stringify(ch)} at offset ${i}`);
      tokens.push({ kind: 'number', value: number });
      i += number.length;
    } else {
      const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i))?.[0];
      if (!ident) throw new PolicyParseError(`unexpected character ${JSON.stringify(ch)} at offset ${i}`);
      tokens.push({ kind: 'ident', value: ident });
      i += ident.length;
    }
  }
  return tokens;
}

function skipTo(text: string, end: string, from: number): number {
  const at = text.indexOf(end, from);
  return at === -1 ? text.length : at + 1;
}

function readString(text: string, start: number): [string, number] {
  let value = '';
  for (let i = start + 1; i < text.length; i += 1) {
    const ch = text.charAt(i);
    if (ch === '"') return [value, i + 1];
    if (ch === '\\') {
      i += 1;
      value += text.charAt(i);
    } else value += ch;
  }
  throw new PolicyParseError('unterminated string');
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  blocks(): PathBlock[] {
    const blocks: PathBlock[] = [];
    while (this.at < this.tokens.length) {
      this.expect('ident', 'path');
      const path = this.expect('string').value;
      this.expect('punct', '{');
      const fields: Record<string, HclValue> = {};
      while (!this.peek('punct', '}')) {
        const key = this.expect('ident').value;
        // HCL 1 also writes an object field as a block: `allowed_parameters { ... }`.
        if (this.peek('punct', '{')) fields[key] = this.object();
        else {
          this.expect('punct', '=');
          fields[key] = this.peek('punct', '{') ? this.object() : this.value();
        }
      }
      this.expect('punct', '}');
      blocks.push({ path, fields });
    }
    return blocks;
  }

  private value(): string | HclScalar[] {
    if (!this.peek('punct', '[')) return this.expect('string').value;
    return this.list();
  }

  private list(): HclScalar[] {
    this.expect('punct', '[');
    const items: HclScalar[] = [];
    while (!this.peek('punct', ']')) {
      items.push(this.scalar());
      if (!this.peek('punct', ']')) this.expect('punct', ',');
    }
    this.expect('punct', ']');
    return items;
  }

  private scalar(): HclScalar {
    const token = this.tokens[this.at];
    if (token?.kind === 'number') {
      this.at += 1;
      return Number(token.value);
    }
    if (token?.kind === 'ident' && (token.value === 'true' || token.value === 'false')) {
      this.at += 1;
      return token.value === 'true';
    }
    return this.expect('string').value;
  }

  /** `{ "key" = [...] key2 = [...] }`, entries separated by newlines or commas. */
  private object(): Record<string, HclScalar[]> {
    this.expect('punct', '{');
    const entries: Record<string, HclScalar[]> = {};
    while (!this.peek('punct', '}')) {
      const token = this.tokens[this.at];
      const key = token?.kind === 'ident' ? this.expect('ident').value : this.expect('string').value;
      this.expect('punct', '=');
      entries[key] = this.list();
      if (this.peek('punct', ',')) this.expect('punct', ',');
    }
    this.expect('punct', '}');
    return entries;
  }

  private peek(kind: Token['kind'], value: string): boolean {
    const token = this.tokens[this.at];
    return token?.kind === kind && token.value === value;
  }

  private expect(kind: Token['kind'], value?: string): Token {
    const token = this.tokens[this.at];
    if (!token || token.kind !== kind || (value !== undefined && token.value !== value)) {
      const found = token ? `${token.kind} ${JSON.stringify(token.value)}` : 'end of input';
      throw new PolicyParseError(
        `expected ${value === undefined ? kind : JSON.stringify(value)}, found ${found}`,
      );
    }
    this.at += 1;
    return token;
  }
}

/** Parses the policy subset of HCL: `path "glob" { key = "v" | [v, …] | { "k" = [v, …] } }` blocks and comments. */
export function parseHcl(text: string): PathBlock[] {
  return new Parser(tokenize(text)).blocks();
}
