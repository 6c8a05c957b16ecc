import type { AwsAccounts } from './accounts.js';
import type { Principal } from './auth.js';
import type { AwsState } from './state.js';
import type { XmlObject } from './xml.js';

/** What an action handler may use besides its input. */
export interface CallContext {
  principal: Principal;
  /** The principal's account: the one the call acts in. */
  state: AwsState;
  /** Every account (STS's AssumeRole reaches into the role's). */
  accounts: AwsAccounts;
}

export type QueryHandler = (params: URLSearchParams, ctx: CallContext) => XmlObject | undefined;

export type JsonHandler = (input: unknown, ctx: CallContext) => Record<string, unknown>;
