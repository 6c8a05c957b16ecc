// The fleet bucket's documents from the roles' statements (deploy/fleet-bucket.cjs), and its
// deployment parameters (deploy/template.cjs), without packaging. Its properties on the packaged
// templates: test/deploy/fleet-bucket.ts, run by package.test.ts and configured.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type BucketUser,
  fleetBucketKeyPolicy,
  fleetBucketPolicy,
  fleetBucketResources,
} from '../../deploy/fleet-bucket.cjs';
import type { Statement } from '../../deploy/policies.cjs';
import { environment, resources } from '../../deploy/template.cjs';
import { templateContext } from './template.js';

const OBJECTS = 'arn:${AWS::Partition}:s3:::${FleetBucket}/runs/*';
const VIA_S3 = { StringEquals: { 'kms:ViaService': 's3.${AWS::Region}.amazonaws.com' } };
const s3 = (Sid: string, Action: string[]): Statement => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource: OBJECTS,
});
const key = (Sid: string, Action: string[], Condition?: Statement['Condition']): Statement => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource: '${FleetBucketKeyArn}',
  ...(Condition ? { Condition } : {}),
});
const LOGS: Statement = {
  Sid: 'OwnLogs',
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/x:*',
};

// The fleet's roles as issue 17 has them: planFleet makes no AWS call; the others read or write runs/.
const USERS: BucketUser[] = [
  { role: 'PlanFleetRole', statements: [LOGS] },
  {
    role: 'ListCandidatesRole',
    statements: [
      LOGS,
      s3('WriteLists', ['s3:PutObject']),
      key('EncryptLists', ['kms:GenerateDataKey'], VIA_S3),
    ],
  },
  {
    role: 'WriteFleetManifestRole',
    // Without a condition of its own: the key policy still allows it through S3 only.
    statements: [s3('WriteManifest', ['s3:PutObject']), key('EncryptManifest', ['kms:GenerateDataKey'])],
  },
  {
    role: 'SummarizeFleetRole',
    statements: [
      s3('ReadResults', ['s3:GetObject', 's3:PutObject']),
      key('OpenResults', ['kms:Decrypt', 'kms:GenerateDataKey'], {
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': 'arn:${AWS::Partition}:s3:::*' },
      }),
    ],
  },
  {
    role: 'FleetStateMachineRole',
    statements: [s3('MapItemsAndResults', ['s3:GetObject', 's3:PutObject']), key('MapKey', ['kms:Decrypt'])],
  },
];

const built = fleetBucketResources({ retentionDays: 30, users: USERS }, (document) => document);
const document = (id: string, property: string) =>
  (
    built[id]?.Properties[property] as {
      Statement: (Omit<Statement, 'Principal'> & { Principal?: unknown })[];
    }
  ).Statement;

describe('deploy/fleet-bucket.cjs', () => {
  it('denies the objects to every principal but the roles whose statements name the bucket', () => {
    expect(
      document('FleetBucketPolicy', 'PolicyDocument').find((s) => s.Sid === 'OnlyTheFleetRoles'),
    ).toEqual({
      Sid: 'OnlyTheFleetRoles',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: 'arn:${AWS::Partition}:s3:::${FleetBucket}/*',
      Condition: {
        ArnNotEquals: {
          'aws:PrincipalArn': [
            '${ListCandidatesRoleArn}',
            '${WriteFleetManifestRoleArn}',
            '${SummarizeFleetRoleArn}',
            '${FleetStateMachineRoleArn}',
          ],
        },
      },
    });
  });

  it('denies the objects to everybody while no role is granted the bucket (no empty list for S3 to refuse)', () => {
    const denied = fleetBucketPolicy([]).Statement.find((s) => s.Sid === 'OnlyTheFleetRoles');
    expect(denied).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 's3:*' });
    expect(denied?.Condition).toBeUndefined();
  });

  it('grants each role its own statements on the key, through S3 only whatever they say, and nobody else', () => {
    const use = document('FleetBucketKey', 'KeyPolicy').filter(
      (s) => s.Effect === 'Allow' && s.Sid !== 'AdministerKey',
    );
    expect(use).toEqual([
      {
        Sid: 'ListCandidatesRoleEncryptLists',
        Effect: 'Allow',
        Principal: { AWS: '${ListCandidatesRoleArn}' },
        Action: ['kms:GenerateDataKey'],
        Resource: '*',
        Condition: VIA_S3,
      },
      {
        Sid: 'WriteFleetManifestRoleEncryptManifest',
        Effect: 'Allow',
        Principal: { AWS: '${WriteFleetManifestRoleArn}' },
        Action: ['kms:GenerateDataKey'],
        Resource: '*',
        Condition: VIA_S3,
      },
      {
        Sid: 'SummarizeFleetRoleOpenResults',
        Effect: 'Allow',
        Principal: { AWS: '${SummarizeFleetRoleArn}' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: {
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': 'arn:${AWS::Partition}:s3:::*' },
          ...VIA_S3,
        },
      },
      {
        Sid: 'FleetStateMachineRoleMapKey',
        Effect: 'Allow',
        Principal: { AWS: '${FleetStateMachineRoleArn}' },
        Action: ['kms:Decrypt'],
        Resource: '*',
        Condition: VIA_S3,
      },
    ]);
  });

  it('lets the key administrator (the account by default, as for the sealing key) manage the key, not use it', () => {
    const [administer] = fleetBucketKeyPolicy({
      administratorArn: 'arn:aws:iam::123456789012:role/key-admin',
      users: [],
    }).Statement;
    expect(administer?.Principal).toEqual({ AWS: 'arn:aws:iam::123456789012:role/key-admin' });
    expect(
      [administer?.Action].flat().filter((a) => /Decrypt|Encrypt|GenerateDataKey|CreateGrant/.test(a ?? '')),
    ).toEqual([]);
    expect(fleetBucketKeyPolicy({ users: [] }).Statement[0]?.Principal).toEqual({
      AWS: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root',
    });
  });
});

describe('the fleet’s deployment parameters (deploy/template.cjs)', () => {
  const lifecycle = async (params: Record<string, unknown>) =>
    (
      (await resources(templateContext(params))).Resources.FleetBucket?.Properties.LifecycleConfiguration as {
        Rules: { Id: string; ExpirationInDays?: number }[];
      }
    ).Rules.find((rule) => rule.Id === 'ExpireRuns');

  it('expires runs/ after fleetResultsRetentionDays, 30 by default, from 1 to 3650', async () => {
    await expect(lifecycle({})).resolves.toMatchObject({ ExpirationInDays: 30 });
    await expect(lifecycle({ fleetResultsRetentionDays: 1 })).resolves.toMatchObject({ ExpirationInDays: 1 });
    await expect(lifecycle({ fleetResultsRetentionDays: '3650' })).resolves.toMatchObject({
      ExpirationInDays: 3650,
    });
  });

  it('hands the functions maxDuePerAccount, 1000 by default, from 1 to 10000', async () => {
    await expect(environment(templateContext({}))).resolves.toMatchObject({ maxDuePerAccount: '1000' });
    await expect(environment(templateContext({ maxDuePerAccount: 1 }))).resolves.toMatchObject({
      maxDuePerAccount: '1',
    });
    await expect(environment(templateContext({ maxDuePerAccount: '10000' }))).resolves.toMatchObject({
      maxDuePerAccount: '10000',
    });
  });

  it.each(['0', '3651', '1.5', '-1', '', 'thirty'])(
    'refuses fleetResultsRetentionDays %j at package time, naming it',
    async (value) => {
      await expect(resources(templateContext({ fleetResultsRetentionDays: value }))).rejects.toThrow(
        `deployment parameters: fleetResultsRetentionDays is a whole number from 1 to 3650, not '${value}'`,
      );
    },
  );

  it.each(['0', '10001', '2.5', '-3', '', 'all'])(
    'refuses maxDuePerAccount %j at package time, naming it',
    async (value) => {
      await expect(environment(templateContext({ maxDuePerAccount: value }))).rejects.toThrow(
        `deployment parameters: maxDuePerAccount is a whole number from 1 to 10000, not '${value}'`,
      );
    },
  );
});
