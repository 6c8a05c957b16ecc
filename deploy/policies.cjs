// The one source of the IAM policy documents: each function's role, the sealing key's and the tag
// signing keys' policies, the state machines' roles, and the target role in member accounts. deploy/template.cjs renders them
// into the CloudFormation template at package time (every `${...}` becomes an Fn::Sub variable),
// deploy/target-account.cjs into deploy/target-account.yml; the local stack renders them with its
// own accounts and key, and its emulated AWS evaluates them.
'use strict';

/** The claim's MAC (claim key), so that a claim nobody but createKey wrote is never trusted. */
const CLAIM_MAC_TAG_KEY = 'iam-key-rotator:claim-mac';
/** The user tags createKey writes to claim a user (functions/commons/ownership.ts). */
const CLAIM_TAG_KEYS = ['iam-key-rotator:execution', 'iam-key-rotator:claim', CLAIM_MAC_TAG_KEY];
/** The user tag verifyKey writes: the Vault path that serves the user's key. */
const VAULT_PATH_TAG_KEY = 'iam-key-rotator:vault-path';
/** The pin's MAC (pin key), so that a pin nobody but verifyKey wrote is never trusted. */
const VAULT_PATH_MAC_TAG_KEY = 'iam-key-rotator:vault-path-mac';
/** The user tags verifyKey writes: the pin and its MAC. */
const PIN_TAG_KEYS = [VAULT_PATH_TAG_KEY, VAULT_PATH_MAC_TAG_KEY];
/** Every user tag the rotator writes; each function's TagUser is limited to the keys it writes. */
const ROTATOR_TAG_KEYS = [...CLAIM_TAG_KEYS, ...PIN_TAG_KEYS];

/**
 * What ends the execution of a user whose pin does not verify ("the pin of U was changed outside the
 * rotator"): the tamper alert's rule (deploy/alerts.cjs) matches the Fail's cause on it, so the
 * functions import it from here rather than repeat it.
 */
const TAMPER_PHRASE = 'changed outside the rotator';

/** The encryption context every sealed secret carries; KMS grants are limited to it. */
const ENCRYPTION_CONTEXT_KEYS = [
  'iam-key-rotator:execution',
  'iam-key-rotator:user',
  'iam-key-rotator:access-key-id',
  'iam-key-rotator:purpose',
];

/**
 * Variables the function documents use, besides AWS's pseudo parameters (Partition, Region,
 * AccountId); TargetRoleName only when target accounts are set. The key policy also names each role
 * as `${<Fn>RoleArn}` (see roleArnVariable). FleetBucket is the fleet bucket's name,
 * FleetBucketKeyArn its KMS key.
 */
const VARIABLES = [
  'Service',
  'Stage',
  'UserPath',
  'SealingKeyArn',
  'PinKeyArn',
  'ClaimKeyArn',
  'TargetRoleName',
  'FleetBucket',
  'FleetBucketKeyArn',
];

const USERS = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user${UserPath}*';

/**
 * The opt-in tag (the fleet's default tag, functions/commons/fleet-input.ts). With the setting
 * rotateUsersAtRootPath every grant on a user but the listing requires it, so a user nobody opted
 * in (an administrator at `/`) cannot be touched: IAM authorizes each action on a user against the
 * user's tags (aws:ResourceTag).
 */
const OPT_IN_TAG_KEY = 'iam-key-rotator:rotate';
const OPTED_IN = { [`aws:ResourceTag/${OPT_IN_TAG_KEY}`]: 'true' };
/**
 * The listing (a statement with iam:ListUsers, listCandidates') is how opted-in users are found:
 * ListUsers authorizes against the path, not a user, so no tag applies; it reads every listed user's
 * tags and key metadata (no secret, no change) to select by tag, and keeps no tag condition.
 */
const isListing = (statement) => [statement.Action].flat().includes('iam:ListUsers');
const namesUsers = (statement) => [statement.Resource].flat().includes(USERS);

/** The statements as the deployment grants them: with `rotateUsersAtRootPath`, each on users but the listing requires the opt-in tag. */
function optedInOnly(statements, settings = {}) {
  if (!settings.rotateUsersAtRootPath) return statements;
  return statements.map((s) =>
    !namesUsers(s) || isListing(s)
      ? s
      : { ...s, Condition: { ...s.Condition, StringEquals: { ...s.Condition?.StringEquals, ...OPTED_IN } } },
  );
}

const SEALING_KEY = '${SealingKeyArn}';
/** The HMAC_256 keys that sign the pin (verifyKey) and the claim (createKey) tags. */
const PIN_KEY = '${PinKeyArn}';
const CLAIM_KEY = '${ClaimKeyArn}';
const SIGNING_KEYS = { pin: PIN_KEY, claim: CLAIM_KEY };
/** The rotation machine's executions, by its name like STATE_MACHINE_ARN (a reference would be a cycle). */
const ROTATION_EXECUTIONS =
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Service}-${Stage}:*';

/**
 * A fleet run's objects, by what they are (functions/commons/fleet-store.ts runKeys): every object
 * lives under `runs/<fleet execution name>/`, and each role reaches only the kinds it reads or writes.
 */
const fleetObjects = (kind) => `arn:\${AWS::Partition}:s3:::\${FleetBucket}/runs/*/${kind}`;
const DUE_USERS = fleetObjects('due/*');
const ACCOUNT_LISTINGS = fleetObjects('accounts/*');
const DUE_MANIFEST = fleetObjects('due.manifest');
const MAP_RESULTS = fleetObjects('results/*');
const FLEET_SUMMARY = fleetObjects('summary.json');
const FLEET_BUCKET_KEY = '${FleetBucketKeyArn}';
/** S3 seals and opens the bucket's objects with the caller's permissions on its key: only through S3. */
const VIA_S3 = { StringEquals: { 'kms:ViaService': 's3.${AWS::Region}.amazonaws.com' } };

// HMAC_256 keys take HMAC_SHA_256 only; the condition keeps a future key spec from widening the grant.
const MAC_ALGORITHM = { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } };

const sealingCondition = (purposes) => ({
  StringEquals: { 'kms:EncryptionContext:iam-key-rotator:purpose': purposes },
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ENCRYPTION_CONTEXT_KEYS },
});

/**
 * What each function's handler calls, statement by statement (its logs and tracing come from
 * `runtimeStatements`). Every action here is proven needed by test/policies.
 */
const FUNCTION_STATEMENTS = {
  validateInput: [],
  createKey: [
    {
      Sid: 'RotatedUsers',
      Effect: 'Allow',
      Action: [
        'iam:GetUser',
        'iam:ListAccessKeys',
        'iam:CreateAccessKey',
        'iam:DeleteAccessKey',
        'iam:ListUserTags',
        'iam:GetAccessKeyLastUsed',
      ],
      Resource: USERS,
    },
    {
      Sid: 'RotatorTagsOnly',
      Effect: 'Allow',
      Action: 'iam:TagUser',
      Resource: USERS,
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': CLAIM_TAG_KEYS } },
    },
    {
      // Only createKey may sign a claim: the claim key's policy denies GenerateMac to every other role.
      Sid: 'SignClaims',
      Effect: 'Allow',
      Action: 'kms:GenerateMac',
      Resource: CLAIM_KEY,
      Condition: MAC_ALGORITHM,
    },
    {
      // The user's pin (where its key is served) and its claim (which execution owns it) are trusted only verified.
      Sid: 'VerifyTags',
      Effect: 'Allow',
      Action: 'kms:VerifyMac',
      Resource: [PIN_KEY, CLAIM_KEY],
      Condition: MAC_ALGORITHM,
    },
    {
      Sid: 'SealSecrets',
      Effect: 'Allow',
      Action: 'kms:Encrypt',
      Resource: SEALING_KEY,
      Condition: sealingCondition(['new-secret', 'previous-secret']),
    },
  ],
  storeInVault: [
    {
      Sid: 'UnsealNewSecret',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: SEALING_KEY,
      Condition: sealingCondition('new-secret'),
    },
  ],
  verifyKey: [
    {
      Sid: 'PinVaultPath',
      Effect: 'Allow',
      Action: 'iam:TagUser',
      Resource: USERS,
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': PIN_TAG_KEYS } },
    },
    {
      // Only verifyKey may sign a pin: the pin key's policy denies GenerateMac to every other role.
      Sid: 'SignPins',
      Effect: 'Allow',
      Action: 'kms:GenerateMac',
      Resource: PIN_KEY,
      Condition: MAC_ALGORITHM,
    },
  ],
  deactivateOld: [
    {
      Sid: 'RotatedUsers',
      Effect: 'Allow',
      Action: ['iam:ListAccessKeys', 'iam:UpdateAccessKey', 'iam:GetAccessKeyLastUsed'],
      Resource: USERS,
    },
  ],
  deleteOld: [
    {
      Sid: 'RotatedUsers',
      Effect: 'Allow',
      Action: ['iam:ListAccessKeys', 'iam:DeleteAccessKey'],
      Resource: USERS,
    },
  ],
  restoreVault: [
    {
      Sid: 'UnsealPreviousValue',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: SEALING_KEY,
      Condition: sealingCondition('previous-secret'),
    },
  ],
  discardNewKey: [
    {
      Sid: 'RotatedUsers',
      Effect: 'Allow',
      Action: 'iam:DeleteAccessKey',
      Resource: USERS,
    },
  ],
  // CreateKey's failure path: reads the user's keys and claim, deletes what its attempts left.
  discardLeftovers: [
    {
      Sid: 'RotatedUsers',
      Effect: 'Allow',
      Action: ['iam:GetUser', 'iam:ListAccessKeys', 'iam:ListUserTags', 'iam:DeleteAccessKey'],
      Resource: USERS,
    },
    {
      // The claim proves which keys this execution created; it never signs one.
      Sid: 'VerifyClaims',
      Effect: 'Allow',
      Action: 'kms:VerifyMac',
      Resource: CLAIM_KEY,
      Condition: MAC_ALGORITHM,
    },
  ],
};

const FUNCTIONS = Object.keys(FUNCTION_STATEMENTS);

/**
 * The fleet's functions (statemachine/rotate-fleet.asl.json's planFleet, listCandidates,
 * writeFleetManifest and summarizeFleet, and reportToFleet, the target of the EventBridge rule on
 * the per-user machine's ended executions). Kept apart from FUNCTION_STATEMENTS: they are not the
 * per-user machine's steps. listCandidates logs in to Vault as the reader (VAULT_FUNCTIONS). Every
 * action here is proven needed by test/policies/fleet-mutation.
 */
const FLEET_FUNCTION_STATEMENTS = {
  // Checks the fleet input against the deployment's settings: no AWS call.
  planFleet: [],
  listCandidates: [
    {
      Sid: 'ReadRotatedUsers',
      Effect: 'Allow',
      // ListUsers is authorized on the path it lists (`user${UserPath}`), which `*` matches.
      Action: ['iam:ListUsers', 'iam:ListUserTags', 'iam:ListAccessKeys'],
      Resource: USERS,
    },
    {
      // A child goes only to a verified pin; a claim is trusted only verified. Never GenerateMac.
      Sid: 'VerifyTags',
      Effect: 'Allow',
      Action: 'kms:VerifyMac',
      Resource: [PIN_KEY, CLAIM_KEY],
      Condition: MAC_ALGORITHM,
    },
    {
      // Its account's due users (the Distributed Map's items) and its full listing.
      Sid: 'WriteListings',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: [DUE_USERS, ACCOUNT_LISTINGS],
    },
    {
      Sid: 'SealFleetObjects',
      Effect: 'Allow',
      Action: 'kms:GenerateDataKey',
      Resource: FLEET_BUCKET_KEY,
      Condition: VIA_S3,
    },
  ],
  writeFleetManifest: [
    {
      Sid: 'WriteManifest',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: DUE_MANIFEST,
    },
    {
      Sid: 'SealFleetObjects',
      Effect: 'Allow',
      Action: 'kms:GenerateDataKey',
      Resource: FLEET_BUCKET_KEY,
      Condition: VIA_S3,
    },
  ],
  summarizeFleet: [
    {
      // An execution already holding a child's name counts only if it is this fleet's rotation of
      // that user: its input and start date say so. Only the rotation machine's executions.
      Sid: 'DescribeChildren',
      Effect: 'Allow',
      Action: 'states:DescribeExecution',
      Resource: ROTATION_EXECUTIONS,
    },
    {
      // The Map Run's results (ResultWriter's manifest and files) and each account's listing.
      Sid: 'ReadRunResults',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: [MAP_RESULTS, ACCOUNT_LISTINGS],
    },
    {
      Sid: 'WriteSummary',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: FLEET_SUMMARY,
    },
    {
      Sid: 'FleetObjectsKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: FLEET_BUCKET_KEY,
      Condition: VIA_S3,
    },
  ],
  reportToFleet: [
    {
      Sid: 'AnswerFleetTasks',
      Effect: 'Allow',
      // Task tokens name no resource IAM can scope: the token is the authorization.
      Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
      Resource: '*',
    },
  ],
};

const FLEET_FUNCTIONS = Object.keys(FLEET_FUNCTION_STATEMENTS);

/** The functions the fleet machine's Tasks invoke (reportToFleet is EventBridge's target). */
const FLEET_STEPS = ['planFleet', 'listCandidates', 'writeFleetManifest', 'summarizeFleet'];

/**
 * The steps that touch IAM for the user: in another account, each assumes the target role there
 * with its own name as SourceIdentity, and the target role lets that session do what the step's own
 * role does at home.
 */
const TARGET_STEPS = [
  'createKey',
  'verifyKey',
  'deactivateOld',
  'deleteOld',
  'discardNewKey',
  'discardLeftovers',
  'listCandidates',
];

/**
 * The functions that log in to Vault (every handler that imports the Vault client): the per-user
 * machine's steps but validateInput, and listCandidates, which reads the default path of a user
 * never pinned to know whether it serves the user's key.
 */
const VAULT_FUNCTIONS = [...FUNCTIONS.filter((fn) => fn !== 'validateInput'), 'listCandidates'];

/** The functions that write to Vault: they log in with the writer's credentials, the others the reader's. */
const VAULT_WRITERS = ['storeInVault', 'restoreVault'];

/** What the Lambda runtime does for every function: its own log group, and X-Ray. */
function runtimeStatements(fn) {
  return [
    {
      Sid: 'OwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource:
        'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${Service}-${Stage}-' +
        `${fn}:*`,
    },
    {
      Sid: 'Tracing',
      Effect: 'Allow',
      Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      Resource: '*',
    },
  ];
}

/** A Secrets Manager secret given by ARN, or by name (its ARN then ends in a random 6-character suffix). */
const secretArn = (secret) =>
  secret.startsWith('arn:')
    ? secret
    : `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secret}-??????`;

/** An SSM parameter given by name without its leading slash. */
const parameterArn = (name) =>
  `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${name}`;

const present = (values) => values.filter((v) => typeof v === 'string' && v !== '');

/**
 * Statements that depend on the deployment's parameters: where the function's Vault credentials,
 * CA bundle and client certificate are kept, the customer-managed key protecting them, and the VPC.
 * A Vault writer reads only the writer's credentials, every other Vault function only the reader's.
 */
function settingsStatements(fn, settings) {
  if (!VAULT_FUNCTIONS.includes(fn)) return [];
  const credentials = (VAULT_WRITERS.includes(fn) ? settings.writer : settings.reader) ?? {};
  const secrets = present([credentials.tokenSecret, credentials.appRoleSecretId, settings.clientCertSecret]);
  const parameters = present([credentials.tokenParameter, settings.caParameter]);
  const statements = [];
  if (secrets.length > 0) {
    statements.push({
      Sid: 'VaultSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secrets.map(secretArn),
    });
  }
  if (parameters.length > 0) {
    statements.push({
      Sid: 'VaultParameters',
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: parameters.map(parameterArn),
    });
  }
  const services = [
    ...(secrets.length > 0 ? ['secretsmanager.${AWS::Region}.amazonaws.com'] : []),
    ...(parameters.length > 0 ? ['ssm.${AWS::Region}.amazonaws.com'] : []),
  ];
  if (settings.secretsKeyArn && services.length > 0) {
    // Secrets Manager and SSM decrypt with the caller's permissions; only through them.
    statements.push({
      Sid: 'VaultSecretsKey',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: settings.secretsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': services } },
    });
  }
  if (settings.vpc) statements.push(...vpcStatements(settings.vpc));
  return statements;
}

/** What Lambda does with the function's role to attach it to the VPC (AWSLambdaVPCAccessExecutionRole, scoped). */
function vpcStatements({ subnetIds, securityGroupIds }) {
  const ec2 = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}';
  return [
    {
      Sid: 'VpcDescribe',
      Effect: 'Allow',
      // Describe actions support no resource-level permissions.
      Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      Resource: '*',
    },
    {
      Sid: 'VpcCreateInterfaces',
      Effect: 'Allow',
      Action: 'ec2:CreateNetworkInterface',
      Resource: [
        `${ec2}:network-interface/*`,
        ...subnetIds.map((id) => `${ec2}:subnet/${id}`),
        ...securityGroupIds.map((id) => `${ec2}:security-group/${id}`),
      ],
    },
    {
      Sid: 'VpcManageInterfaces',
      Effect: 'Allow',
      Action: [
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: `${ec2}:network-interface/*`,
    },
  ];
}

const pascal = (name) => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/**
 * The variable naming a function's role ARN in the key policy and the target role's trust policy,
 * e.g. `CreateKeyRoleArn` (also the member template's parameter and the rotator stack's output).
 */
const roleArnVariable = (fn) => `${pascal(fn)}RoleArn`;

/**
 * A step's grant to assume the target role (`${TargetRoleName}`) in each allowed account, setting
 * its SourceIdentity; nothing when the deployment names no other account.
 */
function targetAccountStatements(fn, settings) {
  const accountIds = settings.targetAccounts?.accountIds ?? [];
  if (!TARGET_STEPS.includes(fn) || accountIds.length === 0) return [];
  return [
    {
      Sid: 'AssumeTargetRole',
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
      Resource: accountIds.map((id) => `arn:\${AWS::Partition}:iam::${id}:role/\${TargetRoleName}`),
      // Only as itself, whatever a member account's trust policy has come to say.
      Condition: { StringEquals: { 'sts:SourceIdentity': fn } },
    },
  ];
}

/**
 * A function's whole policy document, with `${...}` variables left in. Without settings it is what
 * the default local stack needs (Vault's AWS auth, no secrets to read, no VPC, no other account).
 */
function functionPolicy(fn, settings = {}) {
  const statements = FUNCTION_STATEMENTS[fn];
  if (!statements) throw new Error(`no policy for function ${fn}`);
  return {
    Version: '2012-10-17',
    Statement: [
      ...runtimeStatements(fn),
      ...optedInOnly(statements, settings),
      ...settingsStatements(fn, settings),
      ...targetAccountStatements(fn, settings),
    ],
  };
}

/** A fleet function's whole policy document, with `${...}` variables left in, like functionPolicy's. */
function fleetFunctionPolicy(fn, settings = {}) {
  const statements = FLEET_FUNCTION_STATEMENTS[fn];
  if (!statements) throw new Error(`no policy for fleet function ${fn}`);
  return {
    Version: '2012-10-17',
    Statement: [
      ...runtimeStatements(fn),
      ...optedInOnly(statements, settings),
      ...settingsStatements(fn, settings),
      ...targetAccountStatements(fn, settings),
    ],
  };
}

/** A step's statements, whether it is a per-user machine's step or the fleet's. */
const stepStatements = (step) => FUNCTION_STATEMENTS[step] ?? FLEET_FUNCTION_STATEMENTS[step] ?? [];

const isIamStatement = (statement) => [statement.Action].flat().every((a) => a.startsWith('iam:'));

/**
 * The target role's permission policy in a member account (deploy/target-account.yml): each step's
 * IAM statements, as its own role has them at home (`${AWS::AccountId}` is the member account,
 * `${UserPath}` the member template's parameter), usable only by a session whose SourceIdentity is
 * that step. So createKey's session can do what createKey does, and nothing of deleteOld's.
 */
function targetRolePolicy(settings = {}) {
  return {
    Version: '2012-10-17',
    Statement: TARGET_STEPS.flatMap((step) =>
      optedInOnly(stepStatements(step), settings)
        .filter(isIamStatement)
        .map((s) => ({
          ...s,
          Sid: `${pascal(step)}${s.Sid}`,
          Condition: {
            ...s.Condition,
            StringEquals: { ...s.Condition?.StringEquals, 'aws:SourceIdentity': step },
          },
        })),
    ),
  };
}

/**
 * Who may assume the target role: the 7 steps' roles in the rotator's account (`${<Step>RoleArn}`),
 * with the deployment's ExternalId, setting a step's name as SourceIdentity; it then holds for every
 * call of the session, and each name gets only its step's statements (targetRolePolicy). Which name
 * a role may set is bound on the rotator's side (targetAccountStatements): binding it here too
 * would name every role twice, and seven long role ARNs twice outgrow IAM's default 2,048-character
 * trust policy quota.
 */
function targetRoleTrustPolicy() {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: TARGET_STEPS.map((step) => `\${${roleArnVariable(step)}}`) },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
        Condition: {
          StringEquals: { 'sts:ExternalId': '${ExternalId}', 'sts:SourceIdentity': TARGET_STEPS },
        },
      },
    ],
  };
}

/** Whether a statement names the sealing key (the template keeps those out of the role, see the key policy). */
const usesSealingKey = (statement) => JSON.stringify(statement.Resource) === JSON.stringify(SEALING_KEY);

/** Whether a statement names a tag signing key (kept out of the role like the sealing key's statements). */
const usesSigningKey = (statement, kind) =>
  [statement.Resource]
    .flat()
    .some((r) => (kind === undefined ? Object.values(SIGNING_KEYS) : [SIGNING_KEYS[kind]]).includes(r));

/** What the key's administrator may do: everything but use the key, grant it, or re-encrypt under it. */
const KEY_ADMINISTRATION = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:RotateKeyOnDemand',
  'kms:UpdateKeyDescription',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:RevokeGrant',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/** The key administrator's statement: the named administrator, else the account (IAM policies). */
const administerKey = (administratorArn) => ({
  Sid: 'AdministerKey',
  Effect: 'Allow',
  Principal: { AWS: administratorArn || 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
  Action: KEY_ADMINISTRATION,
  Resource: '*',
});

/** Each function's statements on a key (`onKey`), granted in the key policy to its role. */
const keyUse = (fns, onKey) =>
  fns.flatMap((fn) =>
    onKey(fn).map((s) => ({
      Sid: `${roleArnVariable(fn).replace(/Arn$/, '')}${s.Sid}`,
      Effect: 'Allow',
      Principal: { AWS: `\${${roleArnVariable(fn)}}` },
      Action: s.Action,
      Resource: '*',
      Condition: s.Condition,
    })),
  );

/**
 * The sealing key's policy. Each function's sealing statements are granted to its role
 * (`${<Fn>RoleArn}`), and nobody else may decrypt, grant or re-encrypt: an explicit Deny that
 * IAM policies cannot override. The administrator (`administratorArn`, else the account, i.e. IAM
 * policies) keeps PutKeyPolicy, which KMS's lockout check requires of whoever creates the key.
 */
function sealingKeyPolicy({ administratorArn } = {}) {
  const use = keyUse(FUNCTIONS, (fn) => FUNCTION_STATEMENTS[fn].filter(usesSealingKey));
  const decrypting = FUNCTIONS.filter((fn) =>
    FUNCTION_STATEMENTS[fn].some((s) => usesSealingKey(s) && [s.Action].flat().includes('kms:Decrypt')),
  );
  return {
    Version: '2012-10-17',
    Statement: [
      administerKey(administratorArn),
      ...use,
      {
        Sid: 'OnlyTheUnsealingRolesDecrypt',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {
          ArnNotEquals: { 'aws:PrincipalArn': decrypting.map((fn) => `\${${roleArnVariable(fn)}}`) },
        },
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

/** Each function's statements, the per-user machine's and the fleet's, in the order the key policies name them. */
const ALL_STATEMENTS = { ...FUNCTION_STATEMENTS, ...FLEET_FUNCTION_STATEMENTS };

/**
 * A tag signing key's policy (`kind`: pin or claim). Each function's statements on the key are
 * granted to its role (as the sealing key's are: a key administrator other than the account leaves
 * IAM policies without effect), and nobody but the one role that writes the tag may GenerateMac: an
 * explicit Deny no IAM policy or grant overrides, so a tag only the rotator can sign stays so.
 */
function signingKeyPolicy(kind, { administratorArn } = {}) {
  const key = SIGNING_KEYS[kind];
  if (!key) throw new Error(`no signing key ${kind}`);
  const onKey = (fn) => ALL_STATEMENTS[fn].filter((s) => usesSigningKey(s, kind));
  const use = keyUse(Object.keys(ALL_STATEMENTS), onKey);
  const signing = Object.keys(ALL_STATEMENTS).filter((fn) =>
    onKey(fn).some((s) => [s.Action].flat().includes('kms:GenerateMac')),
  );
  return {
    Version: '2012-10-17',
    Statement: [
      administerKey(administratorArn),
      ...use,
      {
        Sid: 'OnlyTheWriterSigns',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:GenerateMac',
        Resource: '*',
        Condition: {
          ArnNotEquals: { 'aws:PrincipalArn': signing.map((fn) => `\${${roleArnVariable(fn)}}`) },
        },
      },
    ],
  };
}

/** The state machine's ARN, built from its name (a reference to the resource would be a cycle). */
const STATE_MACHINE_ARN =
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${Service}-${Stage}';

/** The fleet state machine's ARN, built from its name like the rotation machine's. */
const FLEET_STATE_MACHINE_ARN =
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${Service}-fleet-${Stage}';

/** A function's unqualified ARN, as the state machines invoke it. */
const functionArn = (fn) =>
  `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:\${Service}-\${Stage}-${fn}`;

/**
 * What the per-user machine's role needs once fleets start it: its SignalFleet states call
 * SendTaskSuccess (aws-sdk:sfn) with the token in its input once the new key is stored and verified
 * (its failures reach the fleet through reportToFleet). Task tokens name no resource.
 */
const FLEET_SIGNAL_STATEMENT = {
  Sid: 'SignalFleet',
  Effect: 'Allow',
  Action: 'states:SendTaskSuccess',
  Resource: '*',
};

/** Who may assume a state machine's role: Step Functions, for that state machine (default: the rotation machine) only. */
function stateMachineTrustPolicy(stateMachineArn = STATE_MACHINE_ARN) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' },
          ArnEquals: { 'aws:SourceArn': stateMachineArn },
        },
      },
    ],
  };
}

/**
 * The state machine's role: invoke the 9 functions (by unqualified ARN, as the ASL does), signal
 * the fleet that started it, log, trace.
 */
function stateMachinePolicy() {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'InvokeSteps',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: FUNCTIONS.map(functionArn),
      },
      FLEET_SIGNAL_STATEMENT,
      ...machineRuntimeStatements(),
    ],
  };
}

/** Who may assume the fleet machine's role: Step Functions, for that machine only. */
function fleetStateMachineTrustPolicy() {
  return stateMachineTrustPolicy(FLEET_STATE_MACHINE_ARN);
}

/**
 * The Distributed Map's child workflows: executions of the fleet machine itself, named
 * `<fleet machine>/<Map Run label>:<id>` (the fleet's own executions are `<fleet machine>:<name>`).
 */
const FLEET_CHILD_WORKFLOWS =
  'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Service}-fleet-${Stage}/*';

/**
 * The fleet machine's role: invoke its four functions; start rotations of the rotation machine
 * only (`.waitForTaskToken` needs nothing more; only `.sync` would need DescribeExecution,
 * StopExecution and the managed EventBridge rule); run the Distributed Map (AWS's "IAM policies for
 * using Distributed Map states": StartExecution of the machine itself for its child workflows,
 * Describe/StopExecution of those; the ItemReader reads the due users, the ResultWriter writes the
 * results, through the bucket's key); log, trace. Nothing of the Map Run's own API: that is the
 * operator's (DescribeMapRun).
 */
function fleetStateMachinePolicy() {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'InvokeSteps',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: FLEET_STEPS.map(functionArn),
      },
      {
        Sid: 'StartRotations',
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: STATE_MACHINE_ARN,
      },
      {
        Sid: 'StartChildWorkflows',
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: FLEET_STATE_MACHINE_ARN,
      },
      {
        Sid: 'SuperviseChildWorkflows',
        Effect: 'Allow',
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: FLEET_CHILD_WORKFLOWS,
      },
      {
        // The ItemReader: the manifest, and each account's due users it names.
        Sid: 'ReadDueUsers',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [DUE_MANIFEST, DUE_USERS],
      },
      {
        // The ResultWriter: manifest.json and the result files, in parts when they are large.
        Sid: 'WriteMapResults',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        Resource: MAP_RESULTS,
      },
      {
        Sid: 'FleetObjectsKey',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: FLEET_BUCKET_KEY,
        Condition: VIA_S3,
      },
      ...machineRuntimeStatements(),
    ],
  };
}

/** API Gateway's role for `POST /rotations`: start executions of the rotation machine, nothing else. */
function httpTriggerPolicy() {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'StartRotation', Effect: 'Allow', Action: 'states:StartExecution', Resource: STATE_MACHINE_ARN },
    ],
  };
}

/** What Step Functions does with a machine's role to log and trace it. */
function machineRuntimeStatements() {
  return [
    {
      Sid: 'LogDelivery',
      Effect: 'Allow',
      // CloudWatch Logs' log-delivery actions support no resource-level permissions.
      Action: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      Resource: '*',
    },
    {
      Sid: 'Tracing',
      Effect: 'Allow',
      Action: [
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
      ],
      Resource: '*',
    },
  ];
}

/** Replaces every `${Name}` (and `${AWS::Name}`) in a document with its value. */
function render(document, values) {
  const walk = (node) => {
    if (typeof node === 'string') {
      return node.replace(/\$\{([\w:]+)\}/g, (whole, name) => {
        const value = values[name];
        if (typeof value !== 'string') throw new Error(`no value for ${whole}`);
        return value;
      });
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    }
    return node;
  };
  return walk(document);
}

module.exports = {
  CLAIM_TAG_KEYS,
  CLAIM_MAC_TAG_KEY,
  VAULT_PATH_TAG_KEY,
  VAULT_PATH_MAC_TAG_KEY,
  PIN_TAG_KEYS,
  ROTATOR_TAG_KEYS,
  TAMPER_PHRASE,
  ENCRYPTION_CONTEXT_KEYS,
  VARIABLES,
  OPT_IN_TAG_KEY,
  FUNCTIONS,
  VAULT_FUNCTIONS,
  VAULT_WRITERS,
  FUNCTION_STATEMENTS,
  FLEET_FUNCTIONS,
  FLEET_FUNCTION_STATEMENTS,
  FLEET_STEPS,
  TARGET_STEPS,
  FLEET_SIGNAL_STATEMENT,
  STATE_MACHINE_ARN,
  FLEET_STATE_MACHINE_ARN,
  ROTATION_EXECUTIONS,
  FLEET_CHILD_WORKFLOWS,
  KEY_ADMINISTRATION,
  runtimeStatements,
  functionPolicy,
  fleetFunctionPolicy,
  targetRolePolicy,
  targetRoleTrustPolicy,
  usesSealingKey,
  usesSigningKey,
  roleArnVariable,
  sealingKeyPolicy,
  signingKeyPolicy,
  stateMachineTrustPolicy,
  stateMachinePolicy,
  fleetStateMachineTrustPolicy,
  fleetStateMachinePolicy,
  httpTriggerPolicy,
  render,
};
