import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Outcome, RawRequest } from './router.js';
import type { VaultResponse } from './response.js';

export interface TlsOptions {
  key: string;
  cert: string;
}

export interface ServerHandlers {
  vault: (request: RawRequest) => Promise<Outcome>;
  admin: (method: string, path: string, body: string) => VaultResponse;
}

export interface RunningServer {
  addr: string;
  close: () => Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, response: VaultResponse): void {
  if (response.status === 204 || response.body === undefined) {
    res.writeHead(response.status, response.status === 204 ? {} : { 'Content-Type': 'application/json' });
    res.end();
    return;
  }
  const text = JSON.stringify(response.body);
  res.writeHead(response.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(`${text}\n`);
}

async function route(handlers: ServerHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const url = req.url ?? '/';
  const method = req.method ?? 'GET';
  if (url.startsWith('/__admin/')) {
    // The admin API is unauthenticated, so it only answers callers on this machine.
    if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
      send(res, { status: 403, body: { errors: ['admin API is loopback only'] } });
      return;
    }
    send(res, handlers.admin(method, new URL(url, 'http://admin.invalid').pathname, body));
    return;
  }
  const outcome = await handlers.vault({ method, url, headers: req.headers, body });
  if (outcome.kind === 'respond') send(res, outcome.response);
  else if (outcome.kind === 'drop') req.socket.destroy();
  // 'hang': leave the socket open; close() destroys it.
}

/** Serves Vault's HTTP API (and the admin API) over HTTP, or HTTPS when `tls` is given. */
export function startServer(
  handlers: ServerHandlers,
  options: { host: string; port: number; tls?: TlsOptions },
): Promise<RunningServer> {
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    route(handlers, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { errors: [String(error)] } });
      else res.destroy();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : createHttpServer(listener);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        addr: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Held sockets (timeout faults, keep-alive clients) would otherwise keep close() waiting.
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
