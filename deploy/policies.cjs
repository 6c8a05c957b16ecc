// The one source of the IAM policy documents each function's role holds. serverless.yml renders
// them into the CloudFormation template (every `${...}` becomes an Fn::Sub variable); the local
// stack renders them with its own account and key, and its emulated AWS evaluates them.
'use strict';

/** The user tags createKey writes to claim a user (functions/commons/ownership.ts). */
const CLAIM_TAG_KEYS = ['iam-key-rotator:execution', 'iam-key-rotator:claim'];
/** The user tag verifyKey writes: the Vault path that serves the user's key. */
const VAULT_PATH_TAG_KEY = 'iam-key-rotator:vault-path';
/** Every user tag the rotator writes; each function's TagUser is limited to the keys it writes. */
const ROTATOR_TAG_KEYS = [...CLAIM_TAG_KEYS, VAULT_PATH_TAG_KEY];

/** The encryption context every sealed secret carries; KMS grants are limited to it. */
const ENCRYPTION_CONTEXT_KEYS = [
  'iam-key-rotator:execution',
  'iam-key-rotator:user',
  'iam-key-rotator:access-key-id',
  'iam-key-rotator:purpose',
];

/** Variables the documents use, besides AWS's pseudo parameters (Partition, Region, AccountId). */
const VARIABLES = ['Service', 'Stage', 'UserPath', 'SealingKeyArn'];

const USERS = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user${UserPath}*';
const SEALING_KEY = '${SealingKeyArn}';

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
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [VAULT_PATH_TAG_KEY] } },
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
};

const FUNCTIONS = Object.keys(FUNCTION_STATEMENTS);

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

/** A function's whole policy document, with `${...}` variables left in. */
function functionPolicy(fn) {
  const statements = FUNCTION_STATEMENTS[fn];
  if (!statements) throw new Error(`no policy for function ${fn}`);
  return { Version: '2012-10-17', Statement: [...runtimeStatements(fn), ...statements] };
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
  VAULT_PATH_TAG_KEY,
  ROTATOR_TAG_KEYS,
  ENCRYPTION_CONTEXT_KEYS,
  VARIABLES,
  FUNCTIONS,
  FUNCTION_STATEMENTS,
  runtimeStatements,
  functionPolicy,
  render,
};
