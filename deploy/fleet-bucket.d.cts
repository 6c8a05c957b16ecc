// Types of fleet-bucket.cjs for the tests that call it without serverless.
import type { PolicyDocument, Statement } from './policies.cjs';

/** A fleet role by logical id (its ARN is `${<role>Arn}` in the documents), with its statements. */
export interface BucketUser {
  role: string;
  statements: Statement[];
}
export function namesBucket(statement: Statement): boolean;
export function namesBucketKey(statement: Statement): boolean;
/** The bucket's policy: Deny statements only, each for every principal (`*`). */
export function fleetBucketPolicy(roles: string[]): {
  Version: '2012-10-17';
  Statement: (Omit<Statement, 'Principal'> & { Principal: '*' })[];
};
export function fleetBucketKeyPolicy(settings: {
  administratorArn?: string | undefined;
  users: BucketUser[];
}): PolicyDocument;
export function fleetBucketResources(
  settings: { retentionDays: number; administratorArn?: string | undefined; users: BucketUser[] },
  cfn: (document: unknown) => unknown,
): Record<string, { Type: string; Properties: Record<string, unknown> }>;
