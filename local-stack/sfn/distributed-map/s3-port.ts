/** S3 as a state machine's role reaches it: what a Distributed Map's ItemReader and ResultWriter call. */
export interface S3Port {
  getObject(roleArn: string, bucket: string, key: string): Promise<Buffer>;
  putObject(roleArn: string, bucket: string, key: string, body: string): Promise<void>;
}

/** An S3 call that failed, with S3's code and message (or how the connection failed). */
export class S3CallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly requestId: string,
  ) {
    super(message);
    this.name = 'S3CallError';
  }

  /** As Step Functions quotes a failed S3 call in a Map Run's cause (the AWS SDK for Java's wording). */
  describe(): string {
    return `${this.message} (Service: Amazon S3; Status Code: ${this.status}; Error Code: ${this.code}; Request ID: ${this.requestId})`;
  }
}
