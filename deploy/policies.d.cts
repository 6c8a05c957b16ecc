// Types of policies.cjs for the TypeScript that loads it (the local stack and the tests).
export type PolicyValue = string | string[];
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS?: PolicyValue; Service?: PolicyValue };
  Action?: PolicyValue;
  NotAction?: PolicyValue;
  Resource?: PolicyValue;
  NotResource?: PolicyValue;
  Condition?: Record<string, Record<string, PolicyValue>>;
}
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}
export type FunctionName =
  | 'validateInput'
  | 'createKey'
  | 'storeInVault'
  | 'verifyKey'
  | 'deactivateOld'
  | 'deleteOld'
  | 'restoreVault'
  | 'discardNewKey'
  | 'discardLeftovers';
/** The fleet's functions: the fleet machine's four steps and the target of the rule on ended rotations. */
export type FleetFunctionName =
  'planFleet' | 'listCandidates' | 'writeFleetManifest' | 'summarizeFleet' | 'reportToFleet';
/** The steps that touch IAM for the user; in another account each assumes the target role as itself. */
export type TargetStep =
  | 'createKey'
  | 'verifyKey'
  | 'deactivateOld'
  | 'deleteOld'
  | 'discardNewKey'
  | 'discardLeftovers'
  | 'listCandidates';
/** Where one Vault identity's credentials are kept (each absent when that auth method is not used). */
export interface VaultCredentialSources {
  /** Secrets Manager secret (ARN, or name) holding the Vault token. */
  tokenSecret?: string;
  /** SSM SecureString parameter name, without its leading slash, holding the Vault token. */
  tokenParameter?: string;
  /** Secrets Manager secret (ARN, or name) holding the AppRole secret_id. */
  appRoleSecretId?: string;
}
/** The deployment parameters the policies depend on. */
export interface PolicySettings {
  /** Read by the Vault functions other than the writers. */
  reader?: VaultCredentialSources;
  /** Read by storeInVault and restoreVault only. */
  writer?: VaultCredentialSources;
  /** SSM parameter name (no leading slash) holding Vault's CA bundle. */
  caParameter?: string;
  /** Secrets Manager secret (ARN, or name) holding {"certificate", "private_key"} for Vault's TLS. */
  clientCertSecret?: string;
  /** ARN of the customer-managed KMS key protecting those secrets and parameters. */
  secretsKeyArn?: string;
  /** The VPC the Vault functions run in. */
  vpc?: { subnetIds: string[]; securityGroupIds: string[] };
  /** The other accounts whose target role (`${TargetRoleName}`) the TARGET_STEPS may assume. */
  targetAccounts?: { accountIds: string[] };
  /** Users at `/`: every grant on a user also requires the opt-in tag (OPT_IN_TAG_KEY=true). */
  rotateUsersAtRootPath?: boolean;
}
export const CLAIM_TAG_KEYS: string[];
/** createKey's claim MAC tag (`v1 <base64 MAC>`), one of CLAIM_TAG_KEYS. */
export const CLAIM_MAC_TAG_KEY: string;
export const VAULT_PATH_TAG_KEY: string;
/** verifyKey's pin MAC tag (`v1 <ISO time> <base64 MAC>`), one of PIN_TAG_KEYS. */
export const VAULT_PATH_MAC_TAG_KEY: string;
/** The tags verifyKey writes: the pin and its MAC. */
export const PIN_TAG_KEYS: string[];
export const ROTATOR_TAG_KEYS: string[];
/** In the cause of a rotation ended by a pin that does not verify; the tamper alert matches it. */
export const TAMPER_PHRASE: 'changed outside the rotator';
/** The tag signing keys: pin (verifyKey signs) and claim (createKey signs). */
export type SigningKeyKind = 'pin' | 'claim';
export const ENCRYPTION_CONTEXT_KEYS: string[];
export const VARIABLES: string[];
/** The tag (value `true`) every user-level grant requires with rotateUsersAtRootPath. */
export const OPT_IN_TAG_KEY: 'iam-key-rotator:rotate';
export const FUNCTIONS: FunctionName[];
/** The functions that log in to Vault: every step but validateInput, and listCandidates (as the reader). */
export const VAULT_FUNCTIONS: (FunctionName | FleetFunctionName)[];
/** The Vault functions that log in as the writer (storeInVault, restoreVault), typed like VAULT_FUNCTIONS. */
export const VAULT_WRITERS: (FunctionName | FleetFunctionName)[];
export const FUNCTION_STATEMENTS: Record<FunctionName, Statement[]>;
export const FLEET_FUNCTIONS: FleetFunctionName[];
export const FLEET_FUNCTION_STATEMENTS: Record<FleetFunctionName, Statement[]>;
/** The functions the fleet machine's Tasks invoke. */
export const FLEET_STEPS: FleetFunctionName[];
/** The steps that touch IAM for the user, in the order the target role's policies list them. */
export const TARGET_STEPS: TargetStep[];
/** Added to the per-user machine's role: its SignalFleet states' SendTaskSuccess. */
export const FLEET_SIGNAL_STATEMENT: Statement;
export const STATE_MACHINE_ARN: string;
export const FLEET_STATE_MACHINE_ARN: string;
/** Every execution of the rotation machine (summarizeFleet's DescribeExecution). */
export const ROTATION_EXECUTIONS: string;
/** The fleet machine's Distributed Map child workflows (`execution:<fleet machine>/*`). */
export const FLEET_CHILD_WORKFLOWS: string;
export const KEY_ADMINISTRATION: string[];
export function runtimeStatements(fn: FunctionName): Statement[];
export function functionPolicy(fn: FunctionName, settings?: PolicySettings): PolicyDocument;
export function fleetFunctionPolicy(fn: FleetFunctionName, settings?: PolicySettings): PolicyDocument;
/**
 * The member account's target role permissions: each TARGET_STEPS step's IAM statements, Sid
 * prefixed with the step, usable only with `aws:SourceIdentity` = the step. Variables:
 * `${AWS::Partition}`, `${AWS::AccountId}` (the member account), `${UserPath}`.
 */
export function targetRolePolicy(settings?: PolicySettings): PolicyDocument;
/**
 * The target role's trust policy: the 7 step roles (`${<Step>RoleArn}`) may assume it with
 * `sts:ExternalId` = `${ExternalId}`, setting a step name as SourceIdentity.
 */
export function targetRoleTrustPolicy(): PolicyDocument;
export function usesSealingKey(statement: Statement): boolean;
/** Whether a statement names a tag signing key (`kind`), or either when `kind` is left out. */
export function usesSigningKey(statement: Statement, kind?: SigningKeyKind): boolean;
/**
 * `CreateKeyRoleArn` for createKey: the variable the key policy and the target role's trust policy
 * name that role with (also the member template's parameter and the rotator stack's output).
 */
export function roleArnVariable(fn: FunctionName | FleetFunctionName): string;
export function sealingKeyPolicy(options?: { administratorArn?: string }): PolicyDocument;
/**
 * A tag signing key's policy: the administrator, each role's statements on the key, and a Deny of
 * kms:GenerateMac to every principal but the tag's writer (`${VerifyKeyRoleArn}` or `${CreateKeyRoleArn}`).
 */
export function signingKeyPolicy(
  kind: SigningKeyKind,
  options?: { administratorArn?: string },
): PolicyDocument;
export function stateMachineTrustPolicy(stateMachineArn?: string): PolicyDocument;
export function stateMachinePolicy(): PolicyDocument;
export function fleetStateMachineTrustPolicy(): PolicyDocument;
export function fleetStateMachinePolicy(): PolicyDocument;
export function httpTriggerPolicy(): PolicyDocument;
export function render<T>(document: T, values: Record<string, string>): T;
