// moto_server (a Python AWS emulator) as a child process: the moto cross-check's AWS.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The `moto_server` executable on the PATH, or null (it is a Python tool most laptops lack). */
export function findMotoServer(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port from the loopback listener'));
      });
    });
  });
}

export interface MotoServer {
  endpoint: string;
  /**
   * Turns moto's IAM authorization on or off from the next request. On, moto checks every request's
   * SigV4 signature and evaluates the signer's IAM policies. This is `INITIAL_NO_AUTH_ACTION_COUNT`
   * (authorization starts after that many requests), set through moto's own `/moto-api/reset-auth`
   * so provisioning need not count its requests (SDK retries would make a count fragile).
   */
  setAuthorization(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Spawns `moto_server` on a free loopback port and waits (bounded) until it answers. */
export async function startMoto(executable: string): Promise<MotoServer> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Authorization stays off until setAuthorization(true); no ambient setting may turn it on earlier.
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: 'inf' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString('utf8')}`.slice(-2_000);
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited(child);
    clearTimeout(timer);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    endpoint,
    async setAuthorization(on) {
      const response = await fetch(`${endpoint}/moto-api/reset-auth`, {
        method: 'POST',
        body: on ? '0' : 'inf',
      });
      if (!response.ok) throw new Error(`moto reset-auth answered ${response.status}`);
      await response.arrayBuffer();
    },
    close,
  };
}
