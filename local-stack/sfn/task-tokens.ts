import { randomBytes } from 'node:crypto';
import type { Json } from '../lambda.js';
import { invalidOutput, invalidToken, taskDoesNotExist } from './errors.js';

/** The error SendTaskFailure hands to the waiting Task state (its name is what Catch/Retry match). */
export class TaskFailure extends Error {
  constructor(error: string | undefined, cause: string | undefined) {
    super(cause ?? '');
    // Step Functions reports a failure sent without an error name as States.TaskFailed.
    this.name = error || 'States.TaskFailed';
  }
}

interface Waiter {
  resolve(output: Json): void;
  reject(error: Error): void;
}

const TOKEN = /^[A-Za-z0-9+/=]{40,1024}$/;

/** Task tokens of `.waitForTaskToken` states waiting for SendTaskSuccess, SendTaskFailure or a stop. */
export class TaskTokens {
  private readonly waiting = new Map<string, Waiter>();

  mint(): string {
    return randomBytes(96).toString('base64');
  }

  /** Waits for the token's answer; an aborted execution stops waiting (its token then no longer exists). */
  wait(token: string, signal: AbortSignal): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const done = () => this.waiting.delete(token);
      this.waiting.set(token, {
        resolve: (output) => (done(), resolve(output)),
        reject: (error) => (done(), reject(error)),
      });
      signal.addEventListener('abort', () => done(), { once: true });
    });
  }

  private take(token: string): Waiter {
    if (!TOKEN.test(token)) throw invalidToken(token);
    const waiter = this.waiting.get(token);
    if (!waiter) throw taskDoesNotExist();
    return waiter;
  }

  succeed(token: string, output: string): void {
    let parsed: Json;
    try {
      parsed = JSON.parse(output) as Json;
    } catch (error) {
      throw invalidOutput(error instanceof Error ? error.message : String(error));
    }
    this.take(token).resolve(parsed);
  }

  fail(token: string, error: string | undefined, cause: string | undefined): void {
    this.take(token).reject(new TaskFailure(error, cause));
  }

  /** SendTaskHeartbeat: the token must still be waiting (no HeartbeatSeconds are enforced locally). */
  heartbeat(token: string): void {
    this.take(token);
  }
}
