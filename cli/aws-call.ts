/** Thrown when AWS refuses a call for want of permission; names the action and the resource. */
export class AccessDeniedError extends Error {
  constructor(
    readonly action: string,
    readonly resource: string,
    detail: string,
  ) {
    super(`not allowed to call ${action} on ${resource} (${detail})`);
    this.name = 'AccessDeniedError';
  }
}

/** Thrown when an AWS call fails for another reason; the message is AWS's, which holds no secret. */
export class AwsCallError extends Error {
  constructor(
    readonly action: string,
    readonly code: string,
    message: string,
  ) {
    super(`${action} failed: ${code}: ${message}`);
    this.name = 'AwsCallError';
  }
}

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** Sends one AWS call (`action` is its IAM action); a refusal becomes AccessDeniedError, any other AWS error AwsCallError. */
export async function callAws<T>(action: string, resource: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const e = error as { name?: string; message?: string; $metadata?: unknown };
    if (e.$metadata === undefined || !e.name) throw error;
    if (DENIED.has(e.name)) throw new AccessDeniedError(action, resource, e.message ?? e.name);
    throw new AwsCallError(action, e.name, e.message ?? '');
  }
}
