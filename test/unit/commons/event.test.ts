import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../functions/commons/errors.js';
import { describeIssues, parseEvent } from '../../../functions/commons/event.js';

const Schema = z.object({ name: z.string().min(3), nested: z.object({ count: z.number() }) }).strict();

function failureOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected a throw');
}

describe('parseEvent', () => {
  it('returns the parsed data of a valid event', () => {
    expect(parseEvent(Schema, { name: 'abc', nested: { count: 1 } })).toEqual({
      name: 'abc',
      nested: { count: 1 },
    });
  });

  it('throws InvalidInputError naming the paths of invalid fields', () => {
    const error = failureOf(() => parseEvent(Schema, { name: 'ab', nested: { count: 'x' } }));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toMatch(/^invalid event: /);
    expect(error.message).toContain('name:');
    expect(error.message).toContain('nested.count:');
  });

  it('names what it parsed in the message', () => {
    const error = failureOf(() => parseEvent(Schema, null, 'execution input'));
    expect(error.message).toMatch(/^invalid execution input: \(input\): /);
  });

  it('never echoes the rejected values', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const error = failureOf(() => parseEvent(Schema, { name: 7, nested: { count: secret } }));
    expect(error.message).not.toContain(secret);
    const short = failureOf(() => parseEvent(Schema, { name: 'xy', nested: { count: 1 } }));
    expect(short.message).not.toContain('xy');
  });
});

describe('describeIssues', () => {
  it('lists unknown fields by name', () => {
    const result = Schema.safeParse({ name: 'abc', nested: { count: 1 }, extra: 1, other: 2 });
    if (result.success) throw new Error('expected failure');
    expect(describeIssues(result.error)).toBe('(input): unknown field(s) extra, other');
  });

  it('truncates long field names to 64 characters', () => {
    const long = 'k'.repeat(200);
    const result = Schema.safeParse({ name: 'abc', nested: { count: 1 }, [long]: 1 });
    if (result.success) throw new Error('expected failure');
    const text = describeIssues(result.error);
    expect(text).toContain('k'.repeat(64));
    expect(text).not.toContain('k'.repeat(65));
  });

  it('caps the whole summary at 1000 characters plus an ellipsis', () => {
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`field_${i}_${'x'.repeat(40)}`, i]),
    );
    const result = Schema.safeParse({ name: 'abc', nested: { count: 1 }, ...many });
    if (result.success) throw new Error('expected failure');
    const text = describeIssues(result.error);
    expect(text).toHaveLength(1001);
    expect(text.endsWith('…')).toBe(true);
  });
});
