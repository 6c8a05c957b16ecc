/** An error a service answers with; the protocol layer renders it as query XML or JSON. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }

  /** The query protocol's <Type>: AWS blames the caller for 4xx and itself for 5xx. */
  get fault(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

export const noSuchUser = (userName: string): AwsServiceError =>
  new AwsServiceError('NoSuchEntity', `The user with name ${userName} cannot be found.`, 404);

export const noSuchAccessKey = (accessKeyId: string): AwsServiceError =>
  new AwsServiceError('NoSuchEntity', `The Access Key with id ${accessKeyId} cannot be found.`, 404);

/** The message shape of AWS's Coral validation errors. */
function validationMessage(value: string | undefined, member: string, constraint: string): string {
  const shown = value === undefined ? 'null' : `'${value}'`;
  return `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`;
}

export const validationError = (
  value: string | undefined,
  member: string,
  constraint: string,
): AwsServiceError =>
  new AwsServiceError('ValidationError', validationMessage(value, member, constraint), 400);
