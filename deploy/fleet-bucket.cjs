// The fleet's S3 bucket: each run's due users, its Distributed Map's results and its summary under
// `runs/<execution>/`, encrypted under a key of its own, readable and writable by the fleet's roles
// only. Its policies are written in deploy/policies.cjs's notation (`${...}` variables, a role's
// ARN as `${<RoleId>Arn}`) from the roles' own statements; deploy/template.cjs renders them.
'use strict';

const { sealingKeyPolicy } = require('./policies.cjs');

/** Where every run writes; what expires after fleetResultsRetentionDays. */
const RUNS_PREFIX = 'runs/';

const BUCKET = 'arn:${AWS::Partition}:s3:::${FleetBucket}';
const OBJECTS = `${BUCKET}/*`;
const KEY = '${FleetBucketKeyArn}';
/** The one way the key is used: S3 encrypting and decrypting the bucket's objects for the caller. */
const VIA_S3 = 's3.${AWS::Region}.amazonaws.com';

/** Whether a statement names the bucket (its ARN or name). */
const namesBucket = (statement) => JSON.stringify(statement).includes('${FleetBucket}');
/** Whether a statement names the bucket's key. */
const namesBucketKey = (statement) => JSON.stringify(statement).includes(KEY);

/** A role's ARN as the policies name it. */
const roleArn = (role) => `\${${role}Arn}`;

/**
 * The bucket's policy; `roles` are the logical ids of the roles granted the bucket. Object
 * operations are denied to every other principal. Bucket operations are left to IAM: CloudFormation
 * updates the lifecycle and this policy and deletes the bucket as whoever deploys the stack, and
 * listing shows key names only (run and account ids), not what the objects hold.
 */
function fleetBucketPolicy(roles) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TlsOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [BUCKET, OBJECTS],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'OnlyTheFleetRoles',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: OBJECTS,
        // No role granted: nobody.
        Condition:
          roles.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': roles.map(roleArn) } } : undefined,
      },
      // A write without encryption headers gets the bucket's default (this key); one with headers
      // must name SSE-KMS and this key, else S3 would encrypt it some other way.
      {
        Sid: 'OnlySseKms',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: OBJECTS,
        Condition: {
          Null: { 's3:x-amz-server-side-encryption': 'false' },
          StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
        },
      },
      {
        Sid: 'OnlyTheFleetKey',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: OBJECTS,
        Condition: {
          Null: { 's3:x-amz-server-side-encryption': 'false' },
          StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY },
        },
      },
    ],
  };
}

/**
 * The bucket key's policy: the sealing key's administrator; each role's statements on the key
 * granted to it (`users`: `{ role, statements }`), through S3 only whatever the statement says;
 * no use but through S3, no grants, no re-encryption, for anybody.
 */
function fleetBucketKeyPolicy({ administratorArn, users }) {
  const administer = sealingKeyPolicy({ administratorArn }).Statement.find((s) => s.Sid === 'AdministerKey');
  const use = users.flatMap(({ role, statements }) =>
    statements.filter(namesBucketKey).map((s) => ({
      Sid: `${role}${s.Sid ?? ''}`,
      Effect: 'Allow',
      Principal: { AWS: roleArn(role) },
      Action: s.Action,
      Resource: '*',
      Condition: {
        ...s.Condition,
        StringEquals: { ...s.Condition?.StringEquals, 'kms:ViaService': VIA_S3 },
      },
    })),
  );
  return {
    Version: '2012-10-17',
    Statement: [
      administer,
      ...use,
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
    ],
  };
}

/**
 * The bucket, its key and its policy as CloudFormation (`cfn` renders a document). `users` are the
 * fleet's roles with their statements: a role naming the bucket is granted its objects, a role
 * naming the key its statements on the key. Versioning stays off: every run writes under a prefix
 * of its own and nothing rewrites an object, so versions would only keep copies the expiry removes.
 */
function fleetBucketResources({ retentionDays, administratorArn, users }, cfn) {
  const roles = users.filter(({ statements }) => statements.some(namesBucket)).map(({ role }) => role);
  return {
    FleetBucketKey: {
      Type: 'AWS::KMS::Key',
      Properties: {
        Description: "iam-key-rotator: encrypts the fleet bucket's objects (S3 only)",
        EnableKeyRotation: true,
        KeyPolicy: cfn(fleetBucketKeyPolicy({ administratorArn, users })),
      },
    },
    FleetBucket: {
      Type: 'AWS::S3::Bucket',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: cfn(KEY) },
              // One data key per bucket for a while instead of a KMS call per object.
              BucketKeyEnabled: true,
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [
            { Id: 'ExpireRuns', Status: 'Enabled', Prefix: RUNS_PREFIX, ExpirationInDays: retentionDays },
            {
              Id: 'AbortIncompleteUploads',
              Status: 'Enabled',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
          ],
        },
      },
    },
    FleetBucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: { Bucket: { Ref: 'FleetBucket' }, PolicyDocument: cfn(fleetBucketPolicy(roles)) },
    },
  };
}

module.exports = {
  namesBucket,
  namesBucketKey,
  fleetBucketPolicy,
  fleetBucketKeyPolicy,
  fleetBucketResources,
};
