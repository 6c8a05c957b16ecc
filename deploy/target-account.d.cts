// Types of target-account.cjs for the tests.
/** deploy/target-account.yml's absolute path. */
export const TEMPLATE_PATH: string;
/** The member-account template (CloudFormation), as an object. */
export function targetAccountTemplate(): {
  AWSTemplateFormatVersion: string;
  Description: string;
  Parameters: Record<string, Record<string, unknown>>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Description?: string; Value: unknown }>;
};
/** deploy/target-account.yml's text: the header comment, then the template as YAML. */
export function targetAccountYaml(): string;
