/** A JSON value, as crosses the Lambda boundary. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A Lambda handler as the rotator writes them: JSON in, JSON out. */
export type Handler = (event: unknown) => Promise<unknown>;

/** An error shaped like the one Step Functions sees when a Lambda function fails. */
export class LambdaFunctionError extends Error {
  constructor(errorType: string, errorMessage: string) {
    // Step Functions puts Lambda's error payload, as JSON, in the Cause.
    super(JSON.stringify({ errorType, errorMessage }));
    this.name = errorType;
  }
}

/**
 * Invokes a handler the way the Lambda service does: the event and the result cross a JSON
 * boundary, and a thrown error becomes `{errorType: error.name, errorMessage}`.
 */
export function asLambda(handler: Handler): (input: Json) => Promise<Json> {
  return async (input) => {
    let result: unknown;
    try {
      result = await handler(JSON.parse(JSON.stringify(input)));
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      throw new LambdaFunctionError(e.name || 'Error', e.message);
    }
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as Json);
  };
}
