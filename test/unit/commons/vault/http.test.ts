import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Agent } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultConfig } from '../../../../functions/commons/vault/config.js';
import {
  createHttp,
  MAX_RESPONSE_BYTES,
  send,
  vaultFailure,
  VaultHttpStatusError,
} from '../../../../functions/commons/vault/http.js';
import type { VaultEmulator } from '../../../../local-stack/vault/index.js';
import { rejectionOf, SECRET, startTlsVault, startVault, vaultSettings } from '../../support.js';

const TOKEN = 'hvs.CAESIJ1q2w3e4r5t6y7u8i9o0pAbCdEfGhIj';

function settings(addr: string, extra: Partial<VaultConfig> = {}): VaultConfig {
  return vaultSettings(addr, TOKEN, { pathPrefix: 'aws/iam-users/', ...extra });
}

/** The options createHttp gave its https Agent. */
function agentOptions(http: ReturnType<typeof createHttp>) {
  const agent: unknown = http.defaults.httpsAgent;
  if (!(agent instanceof Agent)) throw new Error('expected an https Agent');
  return agent.options;
}

/** A refused status as send raises it, or a Node network error (whose message may name the request). */
function wireError(status: number | undefined, data?: unknown, code = 'ECONNRESET'): Error {
  if (status !== undefined) return new VaultHttpStatusError(status, data);
  return Object.assign(new Error(`${code} on secret/data/aws/iam-users/alice with ${TOKEN}: ${SECRET}`), {
    code,
  });
}

function expectNoSecrets(error: Error) {
  for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 5 })]) {
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(SECRET);
  }
}

/** Starts `server` on a loopback port and returns its address. */
async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('vaultFailure', () => {
  const path = 'secret/data/aws/iam-users/alice';

  it.each([500, 502, 503, 429, 412])('maps HTTP %i to transient VaultUnavailableError', (status) => {
    const error = vaultFailure('GET', path, wireError(status, { errors: ['Vault is sealed'] }));
    expect(error.name).toBe('VaultUnavailableError');
    expect(error.message).toBe(`Vault GET ${path} failed (HTTP ${status}): Vault is sealed`);
    expectNoSecrets(error);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED'])(
    'maps a request without response (%s) to VaultUnavailableError with status 0, keeping the code',
    (code) => {
      const error = vaultFailure('POST', path, wireError(undefined, undefined, code));
      expect(error.name).toBe('VaultUnavailableError');
      expect(error).toMatchObject({ status: 0 });
      expect(error.message).toBe(`Vault POST ${path} failed (no response): ${code}`);
      expectNoSecrets(error);
    },
  );

  it('keeps ECONNRESET when the Vault server really resets the connection', async () => {
    const server = createNetServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const http = createHttp(settings(`http://127.0.0.1:${port}`));
      const error = await rejectionOf(send(http, 'GET', path));
      expect(error.name).toBe('VaultUnavailableError');
      expect(error.message).toBe(`Vault GET ${path} failed (no response): ECONNRESET`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('maps an error without a code or status to VaultUnavailableError', () => {
    expect(vaultFailure('GET', path, new Error(`boom ${TOKEN}`)).name).toBe('VaultUnavailableError');
  });

  it('maps HTTP 403 to VaultPermissionDeniedError', () => {
    const error = vaultFailure(
      'GET',
      path,
      wireError(403, { errors: ['permission denied', 'invalid token'] }),
    );
    expect(error.name).toBe('VaultPermissionDeniedError');
    expect(error.message).toBe(`Vault GET ${path} failed (HTTP 403): permission denied; invalid token`);
  });

  it('maps a check-and-set mismatch to VaultCasConflictError', () => {
    const body = { errors: ['check-and-set parameter did not match the current version'] };
    const error = vaultFailure('POST', path, wireError(400, body));
    expect(error.name).toBe('VaultCasConflictError');
    expect(error).toMatchObject({ status: 400 });
  });

  it('maps other 4xx to permanent VaultRequestError', () => {
    const error = vaultFailure('POST', path, wireError(400, { errors: ['no data provided'] }));
    expect(error.name).toBe('VaultRequestError');
    expect(error).toMatchObject({ transient: false, status: 400 });
  });

  it('masks token-like strings in the errors Vault returns', () => {
    const body = {
      errors: [
        `token ${TOKEN} is expired`,
        'legacy s.AbCdEfGhIjKlMnOpQrStUvWx revoked',
        'batch hvb.AAAAAQJgxyzabcdefghij',
      ],
    };
    const error = vaultFailure('GET', path, wireError(403, body));
    expect(error.message).toContain('[REDACTED]');
    expect(error.message).not.toContain('hvs.CAES');
    expect(error.message).not.toContain('s.AbCdEfGh');
    expect(error.message).not.toContain('hvb.AAAA');
    expectNoSecrets(error);
  });

  it('ignores a body that is not Vault JSON and truncates each error to 300 characters', () => {
    expect(vaultFailure('GET', path, wireError(400, '<html>proxy</html>')).message).toBe(
      `Vault GET ${path} failed (HTTP 400)`,
    );
    const long = vaultFailure('GET', path, wireError(400, { errors: ['x'.repeat(1000)] }));
    expect(long.message).toContain('x'.repeat(300));
    expect(long.message).not.toContain('x'.repeat(301));
  });

  it('does not keep the underlying error or its response as cause', () => {
    const error = vaultFailure('GET', path, wireError(500, { errors: [] }));
    expect(error.cause).toBeUndefined();
    expectNoSecrets(error);
  });
});

describe('createHttp', () => {
  it('targets /v1/ of the address with the timeout and no token', () => {
    const http = createHttp(settings('http://vault:8200', { timeoutMs: 1234 }));
    expect(http.defaults.baseURL).toBe('http://vault:8200/v1/');
    expect(http.defaults.timeout).toBe(1234);
    expect(JSON.stringify(http.defaults.headers)).not.toContain(TOKEN);
  });

  it('sends X-Vault-Namespace when a namespace is configured', () => {
    const http = createHttp(settings('http://vault:8200', { namespace: 'team-a' }));
    expect(http.defaults.headers).toMatchObject({ 'X-Vault-Namespace': 'team-a' });
  });

  it('verifies certificates against the system CAs when no TLS material is given', () => {
    const options = agentOptions(createHttp(settings('https://vault:8200')));
    expect(options).toMatchObject({ keepAlive: true, rejectUnauthorized: true });
    expect(options).not.toHaveProperty('ca');
    expect(options).not.toHaveProperty('cert');
    expect(options).not.toHaveProperty('key');
  });

  it('trusts the given CA bundle and presents the client certificate', () => {
    const options = agentOptions(
      createHttp(settings('https://vault:8200'), { ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' }),
    );
    expect(options).toMatchObject({
      ca: 'CA-PEM',
      cert: 'CERT-PEM',
      key: 'KEY-PEM',
      rejectUnauthorized: true,
    });
  });

  it('presents no client certificate without its key', () => {
    const options = agentOptions(createHttp(settings('https://vault:8200'), { cert: 'CERT-PEM' }));
    expect(options).not.toHaveProperty('cert');
  });

  it('is one axios instance over Node’s http adapter with the 1 MiB bounds and no redirects', () => {
    const { defaults } = createHttp(settings('https://vault:8200'));
    expect(defaults).toMatchObject({
      adapter: 'http',
      maxRedirects: 0,
      maxContentLength: MAX_RESPONSE_BYTES,
      maxBodyLength: MAX_RESPONSE_BYTES,
      proxy: false,
      allowAbsoluteUrls: false,
    });
    expect(MAX_RESPONSE_BYTES).toBe(1024 * 1024);
  });

  it('skips verification only when the configuration says so', () => {
    const http = createHttp(
      settings('https://127.0.0.1:8200', { tls: { ca: undefined, clientCert: undefined, skipVerify: true } }),
    );
    expect(agentOptions(http).rejectUnauthorized).toBe(false);
  });
});

describe('createHttp over TLS', () => {
  let vault: VaultEmulator;
  let caCert: string;

  beforeAll(async () => {
    ({ vault, caCert } = await startTlsVault());
  });

  afterAll(async () => {
    await vault.close();
  });

  const health = (http: ReturnType<typeof createHttp>) =>
    send(http, 'GET', 'sys/health', { token: vault.rootToken });

  it('talks to a Vault whose certificate the given CA signed', async () => {
    expect(vault.addr).toMatch(/^https:/);
    await expect(health(createHttp(settings(vault.addr), { ca: caCert }))).resolves.toMatchObject({
      status: 200,
    });
  });

  it('throws the permanent VaultRequestError with status 0 when the certificate is not trusted', async () => {
    const error = await rejectionOf(health(createHttp(settings(vault.addr))));
    expect(error.name).toBe('VaultRequestError');
    expect(error.message).toMatch(/TLS: /);
    expect(error).toMatchObject({ status: 0 });
    expectNoSecrets(error);
  });

  it('accepts the untrusted certificate with skipVerify', async () => {
    const http = createHttp(
      settings(vault.addr, { tls: { ca: undefined, clientCert: undefined, skipVerify: true } }),
    );
    await expect(health(http)).resolves.toMatchObject({ status: 200 });
  });
});

describe('send', () => {
  let vault: VaultEmulator;

  beforeAll(async () => {
    vault = await startVault();
    vault.writeSecret({ mount: 'secret', path: 'app/one', data: { value: 'v1' } });
  });

  afterAll(async () => {
    await vault.close();
  });

  const http = () => createHttp(settings(vault.addr));

  it('resolves a 2xx with the envelope', async () => {
    const response = await send<{ data: { value: string } }>(http(), 'GET', 'secret/data/app/one', {
      token: vault.rootToken,
    });
    expect(response.status).toBe(200);
    expect(response.data?.data?.data.value).toBe('v1');
  });

  it('keeps a path with a leading slash below /v1/', async () => {
    const response = await send(http(), 'GET', '/secret/data/app/one', { token: vault.rootToken });
    expect(response.status).toBe(200);
  });

  it('resolves a 404 so callers decide what absence means', async () => {
    const response = await send(http(), 'GET', 'secret/data/app/missing', { token: vault.rootToken });
    expect(response.status).toBe(404);
  });

  it('throws VaultPermissionDeniedError for a bad token, without the token in the error', async () => {
    const error = await rejectionOf(send(http(), 'GET', 'secret/data/app/one', { token: TOKEN }));
    expect(error.name).toBe('VaultPermissionDeniedError');
    expectNoSecrets(error);
  });

  it('throws VaultCasConflictError when check-and-set finds another version', async () => {
    const error = await rejectionOf(
      send(http(), 'POST', 'secret/data/app/one', {
        token: vault.rootToken,
        data: { options: { cas: 0 }, data: { secret_key: SECRET } },
      }),
    );
    expect(error.name).toBe('VaultCasConflictError');
    expectNoSecrets(error);
  });

  it('throws VaultUnavailableError while Vault is sealed', async () => {
    vault.seal();
    try {
      const error = await rejectionOf(send(http(), 'GET', 'secret/data/app/one', { token: vault.rootToken }));
      expect(error.name).toBe('VaultUnavailableError');
      expect(error).toMatchObject({ status: 503 });
    } finally {
      vault.unseal();
    }
  });

  it('throws VaultUnavailableError with status 0 when nothing listens', async () => {
    const error = await rejectionOf(
      send(createHttp(settings('http://127.0.0.1:9')), 'GET', 'sys/health', { token: TOKEN }),
    );
    expect(error.name).toBe('VaultUnavailableError');
    expect(error).toMatchObject({ status: 0 });
    expectNoSecrets(error);
  });

  it('gives up after the timeout with ETIMEDOUT when Vault accepts but never answers', async () => {
    const held: Socket[] = [];
    const silent = createNetServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const slow = createHttp(settings(`http://127.0.0.1:${port}`, { timeoutMs: 200 }));
      const error = await rejectionOf(send(slow, 'GET', 'sys/health', { token: TOKEN }));
      expect(error.name).toBe('VaultUnavailableError');
      expect(error.message).toBe('Vault GET sys/health failed (no response): ETIMEDOUT');
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('maps a connection dropped in the middle of the body to VaultUnavailableError', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"data":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const error = await rejectionOf(
        send(createHttp(settings(`http://127.0.0.1:${port}`)), 'GET', 'sys/health', { token: TOKEN }),
      );
      expect(error.name).toBe('VaultUnavailableError');
      expect(error).toMatchObject({ status: 0 });
      expectNoSecrets(error);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stops reading a body larger than MAX_RESPONSE_BYTES: VaultUnavailableError, nothing buffered beyond it', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      for (let sent = 0; sent <= MAX_RESPONSE_BYTES; sent += chunk.length) res.write(chunk);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const error = await rejectionOf(
        send(createHttp(settings(`http://127.0.0.1:${port}`)), 'GET', 'sys/health', { token: TOKEN }),
      );
      expect(error.name).toBe('VaultUnavailableError');
      expect(error.message).toBe('Vault GET sys/health failed (no response): ERESPONSETOOLARGE');
      expectNoSecrets(error);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('names the broken connection ECONNRESET when the body breaks off after the headers', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"data":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const addr = await listening(server);
    try {
      const error = await rejectionOf(
        send(createHttp(settings(addr)), 'GET', 'sys/health', { token: TOKEN }),
      );
      expect(error.message).toBe('Vault GET sys/health failed (no response): ECONNRESET');
    } finally {
      await closing(server);
    }
  });

  it('gives up at the timeout even while the body trickles in (the whole exchange is bounded)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":"');
      const drip = setInterval(() => res.write('a'), 20);
      res.on('close', () => clearInterval(drip));
    });
    const addr = await listening(server);
    try {
      const slow = createHttp(settings(addr, { timeoutMs: 300 }));
      const error = await rejectionOf(send(slow, 'GET', 'sys/health', { token: TOKEN }));
      expect(error.name).toBe('VaultUnavailableError');
      expect(error.message).toBe('Vault GET sys/health failed (no response): ETIMEDOUT');
    } finally {
      await closing(server);
    }
  });

  it('refuses to send a body over the bound: permanent VaultRequestError, nothing reaches Vault', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.end('{}');
    });
    const addr = await listening(server);
    try {
      const error = await rejectionOf(
        send(createHttp(settings(addr)), 'POST', 'secret/data/x', {
          token: TOKEN,
          data: { data: { blob: 'a'.repeat(MAX_RESPONSE_BYTES) } },
        }),
      );
      expect(error.name).toBe('VaultRequestError');
      expect(error).toMatchObject({ status: 0, transient: false });
      expect(error.message).toBe('Vault POST secret/data/x failed (no response): EREQUESTTOOLARGE');
      expect(requests).toBe(0);
    } finally {
      await closing(server);
    }
  });

  it('reuses one kept-alive connection for consecutive requests', async () => {
    const server = createServer((_req, res) => res.end('{}'));
    let connections = 0;
    server.on('connection', () => (connections += 1));
    const addr = await listening(server);
    try {
      const http = createHttp(settings(addr));
      for (let i = 0; i < 3; i++) await send(http, 'GET', 'sys/health', { token: TOKEN });
      expect(connections).toBe(1);
    } finally {
      await closing(server);
    }
  });

  it('keeps an absolute URL given as a path below VAULT_ADDR/v1/: the token goes nowhere else', async () => {
    const seen: string[] = [];
    const vaultServer = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('{}');
    });
    const other = createServer((_req, res) => res.end('{}'));
    let otherRequests = 0;
    other.on('request', () => (otherRequests += 1));
    const [addr, otherAddr] = await Promise.all([listening(vaultServer), listening(other)]);
    try {
      await send(createHttp(settings(addr)), 'GET', `${otherAddr}/v1/secret/data/x`, { token: TOKEN });
      expect(otherRequests).toBe(0);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^\/v1\/http:/);
    } finally {
      await Promise.all([closing(vaultServer), closing(other)]);
    }
  });

  it('ignores HTTP_PROXY: the token is sent to VAULT_ADDR directly, never through a proxy', async () => {
    let proxied = 0;
    const proxy = createServer((_req, res) => {
      proxied += 1;
      res.end('{}');
    });
    const saved = { ...process.env };
    const proxyAddr = await listening(proxy);
    try {
      for (const name of ['NO_PROXY', 'no_proxy']) Reflect.deleteProperty(process.env, name);
      Object.assign(process.env, { HTTP_PROXY: proxyAddr, http_proxy: proxyAddr });
      const response = await send(http(), 'GET', 'secret/data/app/one', { token: vault.rootToken });
      expect(response.status).toBe(200);
      expect(proxied).toBe(0);
    } finally {
      process.env = saved;
      await closing(proxy);
    }
  });

  describe('behind a redirecting proxy', () => {
    let target: Server;
    let proxy: Server;
    const seenByTarget: IncomingHttpHeaders[] = [];

    beforeAll(async () => {
      target = createServer((req, res) => {
        seenByTarget.push(req.headers);
        res.end('{}');
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      const targetPort = (target.address() as AddressInfo).port;
      proxy = createServer((_req, res) => {
        res.writeHead(307, { location: `http://127.0.0.1:${targetPort}/v1/secret/data/x` });
        res.end();
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await new Promise((resolve) => target.close(resolve));
      await new Promise((resolve) => proxy.close(resolve));
    });

    it('does not follow the redirect, so the token never reaches another host', async () => {
      const addr = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const error = await rejectionOf(
        send(createHttp(settings(addr)), 'GET', 'secret/data/x', { token: TOKEN }),
      );
      // A standby's redirect: another node will answer a retry.
      expect(error.name).toBe('VaultUnavailableError');
      expect(error).toMatchObject({ status: 307 });
      expect(seenByTarget).toEqual([]);
    });
  });

  describe('at a standby node that answers 307 to the active node', () => {
    let active: Server;
    let standby: Server;
    let activeAddr = '';
    let standbyRequests = 0;
    const seenByActive: IncomingHttpHeaders[] = [];

    beforeAll(async () => {
      active = createServer((req, res) => {
        seenByActive.push(req.headers);
        res.end('{}');
      });
      activeAddr = await listening(active);
      standby = createServer((req, res) => {
        standbyRequests += 1;
        // Vault's standby: the active node's api_addr with the request's path, an empty body.
        const to = req.url === '/v1/sys/same-origin' ? '/v1/sys/health' : `${activeAddr}${req.url ?? ''}`;
        res.writeHead(307, { location: to });
        res.end();
      });
      await listening(standby);
    });

    afterAll(async () => {
      await Promise.all([closing(active), closing(standby)]);
    });

    const standbyAddr = () => `http://127.0.0.1:${(standby.address() as AddressInfo).port}`;

    it('throws the transient VaultUnavailableError telling the operator where to point VAULT_ADDR', async () => {
      const error = await rejectionOf(
        send(createHttp(settings(standbyAddr())), 'GET', 'secret/data/x', { token: TOKEN }),
      );
      expect(error.name).toBe('VaultUnavailableError');
      expect(error).toMatchObject({ status: 307, transient: true });
      expect(error.message).toBe(
        `Vault GET secret/data/x failed (HTTP 307): redirect to ${activeAddr} not followed (the token goes ` +
          'to VAULT_ADDR only): a standby node redirects to the active one; point VAULT_ADDR at the ' +
          'active node or a load balancer in front of the cluster',
      );
      expect(seenByActive).toEqual([]);
      expectNoSecrets(error);
    });

    it('follows no redirect at all, not even to its own origin', async () => {
      const before = standbyRequests;
      const error = await rejectionOf(
        send(createHttp(settings(standbyAddr())), 'GET', 'sys/same-origin', { token: TOKEN }),
      );
      expect(error).toMatchObject({ name: 'VaultUnavailableError', status: 307 });
      expect(error.message).toContain('redirect not followed');
      expect(standbyRequests - before).toBe(1);
    });
  });
});
