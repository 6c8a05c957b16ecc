import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromVault } from '../../../consumer/provider.js';
import { VaultDataError, VaultUnavailableError } from '../../../functions/commons/vault/errors.js';

// A Vault (or whatever answers at VAULT_ADDR) that misbehaves: what fromVault lets through to the
// application that logs its errors, and what it sends where.
const TOKEN = 'hvs.CAEShostileVaultTokenNeverSent00000';
const PATH = 'aws/iam-users/hostile';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_, res) => res.end();
const seen: { url: string; token: string | undefined }[] = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    });
  });
}

const vault = createServer((req, res) => {
  seen.push({ url: req.url ?? '', token: req.headers['x-vault-token'] as string | undefined });
  handler(req, res);
});
// Where a redirect points: it must never be asked anything.
const elsewhere = createServer((req, res) => {
  seen.push({ url: `elsewhere${req.url ?? ''}`, token: req.headers['x-vault-token'] as string | undefined });
  res.end('{}');
});
let addr = '';
let elsewhereAddr = '';
beforeAll(async () => {
  addr = await listen(vault);
  elsewhereAddr = await listen(elsewhere);
});
afterAll(() => {
  vault.closeAllConnections();
  elsewhere.closeAllConnections();
  vault.close();
  elsewhere.close();
});

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** fromVault on KV v2 against the hostile server; resolves with what it threw. */
async function failure(timeoutMs = 5_000): Promise<Error> {
  seen.length = 0;
  const provider = fromVault(
    { vaultPath: PATH, address: addr, kvVersion: 2, timeoutMs },
    { VAULT_TOKEN: TOKEN, HOME: '/nonexistent' },
  );
  const error = await provider().then(
    () => new Error('fromVault resolved'),
    (e: unknown) => e as Error,
  );
  expect(error.message).not.toContain(TOKEN);
  return error;
}

describe('fromVault against a hostile Vault', () => {
  it('does not follow a redirect: the token goes to VAULT_ADDR only', async () => {
    handler = (_, res) => {
      res.writeHead(307, { location: `${elsewhereAddr}/v1/secret/data/${PATH}` });
      res.end();
    };
    const error = await failure();
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error.message).toContain('not followed');
    expect(seen.map((s) => s.url)).toEqual([`/v1/secret/data/${PATH}`]);
  });

  it('bounds a body too large for any key', async () => {
    handler = (_, res) => json(res, 200, { data: { data: { pad: 'x'.repeat(2 * 1024 * 1024) } } });
    const error = await failure();
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error.message).toContain('ERESPONSETOOLARGE');
  });

  it('bounds a body that trickles in: the timeout is for the whole answer', async () => {
    handler = (_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    };
    const started = Date.now();
    const error = await failure(300);
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error.message).toContain('ETIMEDOUT');
    // Generous: the deadline is 300 ms, a body that never ends would hang forever.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses a key that is not a pair of strings', async () => {
    handler = (_, res) =>
      json(res, 200, { data: { data: { access_key: ['AKIA'], secret_key: 1 }, metadata: { version: 3 } } });
    expect(await failure()).toBeInstanceOf(VaultDataError);
  });

  it("keeps Vault's error strings short, few and free of control characters and tokens", async () => {
    const errors = Array.from({ length: 3000 }, (_, i) => `\u001b[2J\u001b[31mfault ${i}\r\n${TOKEN}`);
    handler = (_, res) => json(res, 500, { errors });
    const error = await failure();
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error.message).toContain('fault 0');
    expect(error.message).not.toMatch(/\p{Cc}/u);
    expect(error.message.length).toBeLessThan(4_000);
  });
});
