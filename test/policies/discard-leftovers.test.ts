// discardLeftovers' role, as deploy/policies.cjs writes it, evaluated by the emulated IAM: it reads
// the user, its keys and its claim, verifies the claim and deletes keys; it cannot create or
// re-activate a key, tag the user, sign a claim or a pin, open a sealed secret, or log in to Vault
// as the writer. (Removing any of its grants fails a rotation: test/policies/mutation.)
import { describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import { conditionKeys } from '../../local-stack/aws/access.js';
import { parsePolicy } from '../../local-stack/aws/policy/document.js';
import { evaluate } from '../../local-stack/aws/policy/evaluate.js';
import { localFunctionPolicy } from '../../local-stack/function-roles.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const key = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
const values = {
  region: REGION,
  accountId: ACCOUNT,
  sealingKeyArn: key('sealing'),
  pinKeyArn: key('pin'),
  claimKeyArn: key('claim'),
  userPath: '/rotated/',
};
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
/** A deployment that keeps the reader's and the writer's Vault tokens in Secrets Manager. */
const settings = {
  reader: { tokenSecret: secret('vault-reader-token-AbCdEf') },
  writer: { tokenSecret: secret('vault-writer-token-AbCdEf') },
};

const statements = parsePolicy(JSON.stringify(localFunctionPolicy('discardLeftovers', values, settings)));
const decide = (action: string, resource: string, context: Record<string, string> = {}) =>
  evaluate(statements, { action, resource, context: conditionKeys(context) });

const user = (path: string) => `arn:aws:iam::${ACCOUNT}:user${path}alice`;
const HMAC = { 'kms:MacAlgorithm': 'HMAC_SHA_256' };

describe('discardLeftovers’ role, evaluated', () => {
  it('reads a user under the path, its keys and tags, and deletes its keys', () => {
    for (const action of ['iam:GetUser', 'iam:ListAccessKeys', 'iam:ListUserTags', 'iam:DeleteAccessKey']) {
      expect(decide(action, user('/rotated/')), action).toBe('allow');
      expect(decide(action, user('/admins/')), `${action} outside the path`).toBe('implicit-deny');
    }
  });

  it('cannot create or re-activate a key, nor tag the user', () => {
    for (const action of [
      'iam:CreateAccessKey',
      'iam:UpdateAccessKey',
      'iam:TagUser',
      'iam:UntagUser',
      'iam:GetAccessKeyLastUsed',
    ]) {
      expect(decide(action, user('/rotated/')), action).toBe('implicit-deny');
    }
  });

  it('verifies claims only: signs nothing, and opens no sealed secret', () => {
    expect(decide('kms:VerifyMac', key('claim'), HMAC)).toBe('allow');
    expect(decide('kms:VerifyMac', key('pin'), HMAC)).toBe('implicit-deny');
    for (const signing of [key('claim'), key('pin')]) {
      expect(decide('kms:GenerateMac', signing, HMAC), signing).toBe('implicit-deny');
    }
    for (const action of ['kms:Encrypt', 'kms:Decrypt']) {
      expect(decide(action, key('sealing')), action).toBe('implicit-deny');
    }
  });

  it('reads the Vault reader’s token, never the writer’s: it cannot write Vault', () => {
    expect(policies.VAULT_FUNCTIONS).toContain('discardLeftovers');
    expect(policies.VAULT_WRITERS).not.toContain('discardLeftovers');
    expect(decide('secretsmanager:GetSecretValue', settings.reader.tokenSecret)).toBe('allow');
    expect(decide('secretsmanager:GetSecretValue', settings.writer.tokenSecret)).toBe('implicit-deny');
  });

  it('is not among the claim key’s signers: its key policy denies it GenerateMac', () => {
    const deny = policies.signingKeyPolicy('claim').Statement.find((s) => s.Sid === 'OnlyTheWriterSigns');
    expect(deny?.Condition?.ArnNotEquals?.['aws:PrincipalArn']).toEqual(['${CreateKeyRoleArn}']);
  });
});
