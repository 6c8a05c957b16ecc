import { describe, expect, it } from 'vitest';
import { parseEnvironment } from '../../../functions/commons/environment.js';
import { ConfigurationError } from '../../../functions/commons/errors.js';
import * as z from '../../../functions/commons/zod.js';

const Env = z.object({
  A_NUMBER: z.pipe(z.string(), z.transform(Number)),
  A_NAME: z.string().check(z.minLength(1)),
});

describe('parseEnvironment', () => {
  it('returns what the schema reads', () => {
    expect(parseEnvironment(Env, { A_NUMBER: '7', A_NAME: 'x', OTHER: 'ignored' })).toEqual({
      A_NUMBER: 7,
      A_NAME: 'x',
    });
  });

  it('names every bad variable at once in a ConfigurationError', () => {
    const parse = () => parseEnvironment(Env, { A_NAME: '' });
    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(/^invalid environment: A_NUMBER: .+; A_NAME: .+$/);
  });
});
