// Types of template.cjs for the tests that call it without serverless.
type ResolveVariable = (address: string) => Promise<unknown>;
export function resources(context: { resolveVariable: ResolveVariable }): Promise<{
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  /** Each TARGET_STEPS step's role ARN (`CreateKeyRoleArn`, ...); `RotationsUrl` when the HTTP trigger is on. */
  Outputs: Record<string, { Description?: string; Value: unknown }>;
}>;
export function vpc(context: {
  resolveVariable: ResolveVariable;
}): Promise<{ subnetIds: string[]; securityGroupIds: string[] } | false>;
export function environment(context: { resolveVariable: ResolveVariable }): Promise<{
  readerTokenParameter: string;
  writerTokenParameter: string;
  caParameter: string;
  /** The other accounts, comma-separated ('' for the own account only). */
  allowedAccountIds: string;
  targetRoleName: string;
  targetExternalId: string;
  /** The maxDuePerAccount parameter, checked (1-10000). */
  maxDuePerAccount: string;
}>;
