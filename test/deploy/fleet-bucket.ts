// The fleet bucket's properties, checked on a packaged template: test/deploy/package.test.ts (the
// default parameters) and configured.test.ts (a key administrator, the other shape) run these on the
// templates they package already, so checking the bucket costs no third `serverless package`.
import { describe, expect, it } from 'vitest';
import { FLEET_FUNCTIONS } from '../../deploy/policies.cjs';
import { type Packaged, type Resource, pascal, references, roleStatements } from './template.js';

interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The fleet's roles: its functions' and its state machine's. */
const FLEET_ROLES = [...FLEET_FUNCTIONS.map((fn) => `${pascal(fn)}Role`), 'FleetStateMachineRole'];
const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const OBJECTS = {
  'Fn::Sub': ['arn:${AWS::Partition}:s3:::${FleetBucket}/*', { FleetBucket: { Ref: 'FleetBucket' } }],
};
const BUCKET = {
  'Fn::Sub': ['arn:${AWS::Partition}:s3:::${FleetBucket}', { FleetBucket: { Ref: 'FleetBucket' } }],
};
const VIA_S3 = { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' };

/** The roles whose policies (their own and those attached to them) name `resource`. */
function rolesNaming(resources: Record<string, Resource>, resource: string): string[] {
  return Object.keys(resources).filter(
    (id) =>
      resources[id]?.Type === 'AWS::IAM::Role' && references(roleStatements(resources, id)).has(resource),
  );
}

export function describeFleetBucket(get: () => Packaged): void {
  const resources = () => get().resources;
  const properties = (id: string) => resources()[id]?.Properties ?? {};
  const statements = (id: string, property: string) =>
    (properties(id)[property] as { Statement: PolicyStatement[] }).Statement;
  const bucketPolicy = () => statements('FleetBucketPolicy', 'PolicyDocument');
  const keyPolicy = () => statements('FleetBucketKey', 'KeyPolicy');
  const bySid = (list: PolicyStatement[], sid: string) => list.find((s) => s.Sid === sid);

  describe('the fleet bucket (deploy/fleet-bucket.cjs)', () => {
    it('encrypts every object with SSE-KMS under FleetBucketKey, a customer-managed key it rotates, with S3 Bucket Keys', () => {
      expect(resources().FleetBucket?.Type).toBe('AWS::S3::Bucket');
      expect(properties('FleetBucket').BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arn('FleetBucketKey') },
            BucketKeyEnabled: true,
          },
        ],
      });
      expect(resources().FleetBucketKey?.Type).toBe('AWS::KMS::Key');
      // A symmetric encryption key (the default spec), the only kind KMS rotates.
      expect(properties('FleetBucketKey')).toMatchObject({ EnableKeyRotation: true });
      expect(properties('FleetBucketKey').KeySpec).toBeUndefined();
    });

    it('blocks public access (all four settings) and disables ACLs (BucketOwnerEnforced)', () => {
      expect(properties('FleetBucket').PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(properties('FleetBucket').OwnershipControls).toEqual({
        Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
      });
    });

    it('expires runs/ after fleetResultsRetentionDays (30) and aborts incomplete uploads after a day, unversioned', () => {
      expect(properties('FleetBucket').LifecycleConfiguration).toEqual({
        Rules: [
          { Id: 'ExpireRuns', Status: 'Enabled', Prefix: 'runs/', ExpirationInDays: 30 },
          {
            Id: 'AbortIncompleteUploads',
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      });
      // No versions: an expired object is gone, not kept as a noncurrent version.
      expect(properties('FleetBucket').VersioningConfiguration).toBeUndefined();
    });

    it('denies every request without TLS, to everyone', () => {
      expect(properties('FleetBucketPolicy').Bucket).toEqual({ Ref: 'FleetBucket' });
      expect(bySid(bucketPolicy(), 'TlsOnly')).toEqual({
        Sid: 'TlsOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [BUCKET, OBJECTS],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    });

    it('denies every object operation to every principal but the fleet’s roles granted the bucket', () => {
      const users = rolesNaming(resources(), 'FleetBucket');
      expect(FLEET_ROLES).toEqual(expect.arrayContaining(users));
      expect(bySid(bucketPolicy(), 'OnlyTheFleetRoles')).toEqual({
        Sid: 'OnlyTheFleetRoles',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: OBJECTS,
        // With no role granted the bucket yet, nobody.
        ...(users.length > 0 ? { Condition: { ArnNotEquals: { 'aws:PrincipalArn': users.map(arn) } } } : {}),
      });
      // The policy grants nothing: the roles' own policies do.
      expect(bucketPolicy().every((s) => s.Effect === 'Deny')).toBe(true);
      // Only TLS binds bucket operations: CloudFormation manages the bucket as whoever deploys.
      for (const statement of bucketPolicy().filter((s) => s.Sid !== 'TlsOnly')) {
        expect(statement.Resource).toEqual(OBJECTS);
      }
    });

    it('refuses a write asking for any encryption but SSE-KMS with FleetBucketKey (one asking for none gets it)', () => {
      const present = { Null: { 's3:x-amz-server-side-encryption': 'false' } };
      expect(bySid(bucketPolicy(), 'OnlySseKms')).toEqual({
        Sid: 'OnlySseKms',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: OBJECTS,
        Condition: { ...present, StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
      });
      expect(bySid(bucketPolicy(), 'OnlyTheFleetKey')).toEqual({
        Sid: 'OnlyTheFleetKey',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: OBJECTS,
        Condition: {
          ...present,
          StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': arn('FleetBucketKey') },
        },
      });
    });

    it('lets the fleet’s roles use FleetBucketKey through S3 only, and its administrator (the sealing key’s) only administer it', () => {
      const sealing = (properties('SecretSealingKey').KeyPolicy as { Statement: PolicyStatement[] })
        .Statement;
      expect(bySid(keyPolicy(), 'AdministerKey')).toEqual(bySid(sealing, 'AdministerKey'));
      const use = keyPolicy().filter((s) => s.Effect === 'Allow' && s.Sid !== 'AdministerKey');
      const users = rolesNaming(resources(), 'FleetBucketKey');
      expect(FLEET_ROLES).toEqual(expect.arrayContaining(users));
      const principals = new Set(use.map((s) => JSON.stringify(s.Principal)));
      expect([...principals]).toEqual(users.map((id) => JSON.stringify({ AWS: arn(id) })));
      for (const statement of use) {
        expect(statement.Condition?.StringEquals?.['kms:ViaService']).toEqual(VIA_S3);
      }
      expect(keyPolicy().filter((s) => s.Effect === 'Deny')).toEqual([
        {
          Sid: 'OnlyThroughS3',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: { StringNotEquals: { 'kms:ViaService': VIA_S3 } },
        },
        {
          Sid: 'NoGrantsNoReEncryption',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['kms:CreateGrant', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
          Resource: '*',
        },
      ]);
    });

    it('keeps the roles’ statements on the bucket and its key out of their own policies (a dependency cycle there)', () => {
      for (const [id, resource] of Object.entries(resources()).filter(
        ([, r]) => r.Type === 'AWS::IAM::Role',
      )) {
        const own = references(resource.Properties.Policies);
        expect(own.has('FleetBucket') || own.has('FleetBucketKey'), id).toBe(false);
      }
    });

    it('tells the fleet’s functions the bucket, its key’s ARN and the deployment’s maxDuePerAccount (1000)', () => {
      for (const fn of FLEET_FUNCTIONS) {
        const variables = (properties(`${pascal(fn)}LambdaFunction`).Environment as { Variables: object })
          .Variables;
        expect(variables, fn).toMatchObject({
          ROTATOR_FLEET_BUCKET: { Ref: 'FleetBucket' },
          ROTATOR_FLEET_BUCKET_KEY_ID: arn('FleetBucketKey'),
          ROTATOR_MAX_DUE_PER_ACCOUNT: '1000',
        });
      }
      expect(get().outputs.FleetBucketName?.Value).toEqual({ Ref: 'FleetBucket' });
    });
  });
}
