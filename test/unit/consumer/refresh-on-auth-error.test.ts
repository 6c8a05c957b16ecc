import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { refreshOnAuthError } from '../../../consumer/refresh-on-auth-error.js';
import type { SdkClient } from '../../../consumer/types.js';

type Handler = (args: { input: object }) => Promise<{ output: object }>;

/** A client shaped as refreshOnAuthError needs: `send` runs the added middleware over `attempt`. */
function client(attempt: Handler) {
  let middleware: ((next: Handler, context: object) => Handler) | undefined;
  const refreshes: (boolean | undefined)[] = [];
  const fake: SdkClient = {
    middlewareStack: {
      add: (m) => {
        middleware = m;
      },
    },
    config: {
      credentials: (props) => {
        refreshes.push(props?.forceRefresh);
        return Promise.resolve({ accessKeyId: 'AKIANEW', secretAccessKey: 'new' });
      },
    },
  };
  refreshOnAuthError(fake);
  const send = (input: object) => {
    if (!middleware) throw new Error('no middleware added');
    return middleware(attempt, {})({ input });
  };
  return { send, refreshes };
}

const refused = Object.assign(new Error('The AWS Access Key Id you provided does not exist'), {
  name: 'InvalidAccessKeyId',
});

describe('refreshOnAuthError', () => {
  it('re-reads the key and tries a call with a plain body once more', async () => {
    let attempts = 0;
    const { send, refreshes } = client(async () => {
      attempts += 1;
      if (attempts === 1) throw refused;
      return { output: { ok: true } };
    });
    await expect(send({ Bucket: 'b', Key: 'k', Body: 'text' })).resolves.toEqual({ output: { ok: true } });
    expect(attempts).toBe(2);
    expect(refreshes).toEqual([true]);
  });

  it.each([
    ['a Node stream', () => Readable.from(['part one, ', 'part two'])],
    ['a web stream', () => new Blob(['part one, ', 'part two']).stream()],
  ])(
    'does not send %s again (the first attempt consumed it): re-reads the key and throws the refusal',
    async (_, body) => {
      const sent: string[] = [];
      const { send, refreshes } = client(async ({ input }) => {
        // As the SDK's HTTP handler: the body is read whatever the answer.
        const chunks: Buffer[] = [];
        for await (const chunk of (input as { Body: AsyncIterable<string | Uint8Array> }).Body) {
          chunks.push(Buffer.from(chunk));
        }
        sent.push(Buffer.concat(chunks).toString());
        if (sent.length === 1) throw refused;
        return { output: {} };
      });
      await expect(send({ Bucket: 'b', Key: 'k', Body: body() })).rejects.toBe(refused);
      // A retry would have stored what was left of the stream (nothing) as the object.
      expect(sent).toEqual(['part one, part two']);
      expect(refreshes).toEqual([true]);
    },
  );
});
