import { setTimeout as delay } from 'node:timers/promises';
import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { AwsCallError, callAws } from './aws-call.js';

export interface FollowOptions {
  /** Called with each new event, in order. */
  onEvent(event: HistoryEvent): void;
  /** Aborting stops following (not the execution). */
  signal?: AbortSignal;
  pollMs?: number;
  /** The longest pause after repeated throttling. */
  maxPollMs?: number;
}

// node:timers' delay drops its abort listener when it ends: a listener per poll would pile up on the signal.
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/** Every event of the execution, oldest first (all pages). */
export async function fullHistory(client: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  return newEvents(client, executionArn, 0);
}

/** The events after `lastId`, oldest first: read newest first, so a poll costs one page. */
async function newEvents(client: SFNClient, executionArn: string, lastId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await callAws('states:GetExecutionHistory', executionArn, () =>
      client.send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken }),
      ),
    );
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= lastId) return fresh.reverse();
      fresh.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return fresh.reverse();
}

/**
 * Follows an execution's history until it ends (or `signal` aborts), backing off while Step Functions
 * throttles. Returns the execution as last described, or undefined when following was interrupted.
 */
export async function follow(
  client: SFNClient,
  executionArn: string,
  options: FollowOptions,
): Promise<DescribeExecutionOutput | undefined> {
  const basePoll = options.pollMs ?? 1000;
  const maxPoll = options.maxPollMs ?? 20_000;
  let poll = basePoll;
  let lastId = 0;
  while (!options.signal?.aborted) {
    try {
      const described = await callAws('states:DescribeExecution', executionArn, () =>
        client.send(new DescribeExecutionCommand({ executionArn })),
      );
      for (const event of await newEvents(client, executionArn, lastId)) {
        lastId = event.id ?? lastId;
        options.onEvent(event);
      }
      if (described.status !== 'RUNNING') return described;
      poll = basePoll;
    } catch (error) {
      if (!(error instanceof AwsCallError && error.code === 'ThrottlingException')) throw error;
      poll = Math.min(maxPoll, poll * 2);
    }
    await sleep(poll, options.signal);
  }
  return undefined;
}
