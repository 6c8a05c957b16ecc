import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FaultAction, Traffic } from '../traffic.js';
import { ADMIN_PREFIX, handleAdmin } from './admin.js';
import { authenticate } from './auth.js';
import { authorize } from './authorize.js';
import { operationFor } from './dispatch.js';
import { AwsServiceError } from './errors.js';
import { injectedCodeError, injectedStatusError } from './faults.js';
import { newRequestId } from './ids.js';
import { detectRoute, errorReply, readCall, signedFor, type Reply, type Route } from './protocol.js';
import type { ReceivedRequest } from './sigv4.js';
import type { AwsAccounts } from './accounts.js';

const MAX_BODY_BYTES = 1024 * 1024;
// S3 objects (the fleet's JSON Lines) are larger than any other service's request.
const MAX_S3_BODY_BYTES = 64 * 1024 * 1024;

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startServer(
  accounts: AwsAccounts,
  traffic: Traffic,
  host: string,
  port: number,
): Promise<RunningServer> {
  // Tracked so close() can drop sockets that a `timeout` fault deliberately leaves hanging.
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    // answer() turns every service failure into a reply; what is left (e.g. an oversized body) drops the connection.
    serve(req, res, accounts, traffic).catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the AWS emulator has no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  accounts: AwsAccounts,
  traffic: Traffic,
): Promise<void> {
  const body = await readBody(req, signedFor(req.headers) === 's3' ? MAX_S3_BODY_BYTES : MAX_BODY_BYTES);
  const url = req.url ?? '/';
  const method = req.method ?? 'GET';
  if (url.startsWith(ADMIN_PREFIX)) {
    const reply = isLoopback(req.socket.remoteAddress)
      ? handleAdmin(
          method,
          new URL(url, 'http://localhost').pathname.slice(ADMIN_PREFIX.length),
          body,
          accounts,
          traffic,
        )
      : { status: 403, body: { error: 'the admin API only answers loopback clients' } };
    send(res, {
      status: reply.status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reply.body),
    });
    return;
  }
  const request: ReceivedRequest = { method, url, headers: req.headers, body };
  const route = detectRoute(request);
  const requestId = newRequestId();
  const reply = await answer(request, route, requestId, accounts, traffic);
  if (reply === 'hold') return;
  if (reply === 'drop') {
    req.socket.destroy();
    return;
  }
  send(res, reply);
}

/** The reply to send, or what a fault does to the connection instead. */
async function answer(
  request: ReceivedRequest,
  route: Route,
  requestId: string,
  accounts: AwsAccounts,
  traffic: Traffic,
): Promise<Reply | 'hold' | 'drop'> {
  let fault: FaultAction | undefined;
  try {
    const call = readCall(request, route);
    const operation = operationFor(call);
    // Counted before authentication, so rejected attempts (e.g. unpropagated keys) show up too.
    fault = traffic.intercept(call.service, call.action);
    if (fault?.kind === 'reset') return 'drop';
    if (fault?.kind === 'timeout') return 'hold';
    if (fault?.kind === 'status') throw injectedStatusError(call.service, fault.status);
    if (fault?.kind === 'code') throw injectedCodeError(call.service, fault.code);
    // The call acts in the principal's account.
    const { principal, state } = await authenticate(request, call.service, accounts);
    // AWS throttles an account's calls to each IAM action; refused calls do not reach authorization.
    if (call.service === 'iam') state.iamRateLimit.admit(call.action);
    const ctx = { principal, state, accounts };
    authorize(call.service, principal, operation.access(ctx), accounts);
    const reply = operation.run(ctx, requestId);
    return fault?.kind === 'after-commit' ? 'drop' : reply;
  } catch (error) {
    if (fault?.kind === 'after-commit') return 'drop';
    const serviceError =
      error instanceof AwsServiceError ? error : new AwsServiceError('InternalFailure', String(error), 500);
    return errorReply(route, serviceError, requestId);
  }
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    'content-length': Buffer.byteLength(reply.body),
    ...reply.headers,
  });
  res.end(reply.body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const isLoopback = (address: string | undefined): boolean =>
  address === '::1' || address?.startsWith('127.') === true || address?.startsWith('::ffff:127.') === true;
