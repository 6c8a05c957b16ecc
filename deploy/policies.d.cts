// Types of policies.cjs for the TypeScript that loads it (the local stack and the tests).
export type PolicyValue = string | string[];
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
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
  | 'discardNewKey';
export const CLAIM_TAG_KEYS: string[];
export const VAULT_PATH_TAG_KEY: string;
export const ROTATOR_TAG_KEYS: string[];
export const ENCRYPTION_CONTEXT_KEYS: string[];
export const VARIABLES: string[];
export const FUNCTIONS: FunctionName[];
export const FUNCTION_STATEMENTS: Record<FunctionName, Statement[]>;
export function runtimeStatements(fn: FunctionName): Statement[];
export function functionPolicy(fn: FunctionName): PolicyDocument;
export function render<T>(document: T, values: Record<string, string>): T;
