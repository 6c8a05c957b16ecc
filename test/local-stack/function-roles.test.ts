import { describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { PolicyDocument } from '../../deploy/policies.cjs';
import { renderLocally } from '../../local-stack/function-roles.js';

const values = {
  region: 'us-east-1',
  accountId: '123456789012',
  sealingKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/sealing',
  pinKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/pin',
  claimKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/claim',
  userPath: '/rotated/',
};

describe('renderLocally', () => {
  it('fills every variable the deployment declares, and the signing keys', () => {
    const names = [...policies.VARIABLES, 'PinKeyArn', 'ClaimKeyArn'];
    const document: PolicyDocument = {
      Version: '2012-10-17',
      Statement: names.map((name) => ({
        Effect: 'Allow',
        Action: 'kms:GenerateMac',
        Resource: `\${${name}}`,
      })),
    };
    const rendered = renderLocally(document, values);
    expect(JSON.stringify(rendered)).not.toContain('${');
    expect(rendered.Statement.map((statement) => statement.Resource)).toEqual(
      expect.arrayContaining([values.pinKeyArn, values.claimKeyArn]),
    );
  });
});
