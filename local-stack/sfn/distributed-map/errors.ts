/** The Map Run could not read its items (S3 refused or failed, or the object is not what ReaderConfig says). */
export class ItemReaderFailed extends Error {
  constructor(cause: string) {
    super(cause);
    this.name = 'States.ItemReaderFailed';
  }
}

/** The Map Run could not write its results to S3. */
export class ResultWriterFailed extends Error {
  constructor(cause: string) {
    super(cause);
    this.name = 'States.ResultWriterFailed';
  }
}

/** More child workflows failed than ToleratedFailureCount or ToleratedFailurePercentage allow. */
export class ExceedToleratedFailureThreshold extends Error {
  constructor() {
    super('The specified tolerated failure threshold was exceeded');
    this.name = 'States.ExceedToleratedFailureThreshold';
  }
}

/**
 * A runtime error of the state itself (a path that selects nothing, a value of the wrong type):
 * Step Functions neither retries nor catches States.Runtime, and the local runner reads these flags.
 */
export class StatesRuntime extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;

  constructor(cause: string) {
    super(cause);
    this.name = 'States.Runtime';
  }
}

/** A Distributed Map the definition declares in a way Step Functions (or this emulator) does not run. */
export class DistributedMapDefinitionError extends Error {
  constructor(state: string, detail: string) {
    super(`Map state '${state}': ${detail}`);
    this.name = 'DistributedMapDefinitionError';
  }
}
