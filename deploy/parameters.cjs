// The deployment parameters (serverless.yml `params`, `--param="name=value"`): what each means,
// what it takes and which environment variables carry it. Their defaults live in serverless.yml's
// `params.default` only; deploy/template.cjs takes the package-time bounds (min, max, values) from
// here. `npm run docs` writes docs/reference/parameters.md from both; test/docs checks that every
// parameter serverless.yml declares is here and nothing else.
'use strict';

/**
 * @typedef {object} Parameter
 * @property {string} group the reference page's section
 * @property {string} meaning what it does, in one or two sentences
 * @property {string} [allowed] what it takes, where `min`/`max`/`values` do not say it all
 * @property {number} [min] the smallest whole number packaging accepts
 * @property {number} [max] the largest number packaging accepts
 * @property {string[]} [values] the only values packaging accepts
 * @property {string[]} [variables] the environment variables that carry it to the functions
 */

/** @type {Record<string, Parameter>} */
const PARAMETERS = {
  userPath: {
    group: 'Users',
    meaning: 'IAM path of the users this deployment may rotate, and that the fleet lists.',
    allowed: 'an IAM path (`/…/`) without `*` or `?`; `/` only with `rotateUsersAtRootPath`',
    variables: ['ROTATOR_USER_PATH'],
  },
  rotateUsersAtRootPath: {
    group: 'Users',
    meaning:
      '`true` allows `userPath: /` (accounts that keep every user at `/`): then every IAM grant on a user also requires its tag `iam-key-rotator:rotate=true`, so nobody opted in (an administrator) can be touched.',
    allowed: 'only with `userPath: /` and no `allowedAccountIds`',
    values: ['true', 'false'],
    variables: ['ROTATOR_ROTATE_USERS_AT_ROOT_PATH'],
  },
  vaultAddr: {
    group: 'Vault',
    meaning: 'Vault’s address.',
    allowed: '`https://` (plain `http://` only for 127.0.0.0/8, `::1` or `localhost`)',
    variables: ['VAULT_ADDR'],
  },
  vaultNamespace: {
    group: 'Vault',
    meaning: 'Vault Enterprise / HCP namespace (`X-Vault-Namespace`), e.g. `admin/team-a`.',
    allowed:
      'names without spaces or control characters; none of `.` `..` `root` `sys` `audit` `auth` `cubbyhole` `identity`',
    variables: ['VAULT_NAMESPACE'],
  },
  vaultKvMount: { group: 'Vault', meaning: 'The KV mount.', variables: ['VAULT_KV_MOUNT'] },
  vaultKvVersion: {
    group: 'Vault',
    meaning:
      '`auto` asks Vault (`sys/internal/ui/mounts`) once per container. Set `1` or `2` when the token may not ask, and to save that call.',
    values: ['auto', '1', '2'],
    variables: ['VAULT_KV_VERSION'],
  },
  vaultPathPrefix: {
    group: 'Vault',
    meaning: 'Paths the rotator may write; an execution’s `vaultPath` must stay below it.',
    variables: ['VAULT_PATH_PREFIX'],
  },
  vaultPathTemplate: {
    group: 'Vault',
    meaning:
      'Default path of a user’s secret: `{prefix}`, `{userName}` and `{accountId}` are filled in, e.g. `aws/{accountId}/{userName}`; the result must stay below the prefix.',
    allowed: 'with `allowedAccountIds`, a segment `{accountId}/` before `{userName}` (docs/many-accounts.md)',
    variables: ['VAULT_PATH_TEMPLATE'],
  },
  vaultAuthMethod: {
    group: 'Vault login',
    meaning: '`aws` (Vault’s AWS IAM auth), `approle` or `token`.',
    values: ['aws', 'approle', 'token'],
    variables: ['VAULT_AUTH_METHOD'],
  },
  vaultAwsAuthMount: {
    group: 'Vault login',
    meaning: 'Mount of the AWS auth method.',
    variables: ['VAULT_AWS_AUTH_MOUNT'],
  },
  vaultReaderRole: {
    group: 'Vault login',
    meaning:
      'Vault role (AWS IAM auth) of createKey, verifyKey, deactivateOld, deleteOld, discardNewKey, discardLeftovers and listCandidates.',
    variables: ['VAULT_AWS_AUTH_ROLE'],
  },
  vaultWriterRole: {
    group: 'Vault login',
    meaning: 'Vault role (AWS IAM auth) that storeInVault and restoreVault log in as.',
    variables: ['VAULT_AWS_AUTH_ROLE'],
  },
  vaultIamServerId: {
    group: 'Vault login',
    meaning:
      '`X-Vault-AWS-IAM-Server-ID`. `auto`: Vault’s host name from `vaultAddr` (Vault’s `iam_server_id_header_value` must be that name; replay protection on); another value: that value; empty: no header (only for a Vault that does not require it).',
    variables: ['VAULT_AWS_IAM_SERVER_ID'],
  },
  vaultAppRoleRoleId: {
    group: 'Vault login',
    meaning: 'AppRole, the reader: the role_id. `VAULT_APPROLE_MOUNT` defaults to `approle`.',
    allowed: 'required with `vaultAuthMethod=approle`',
    variables: ['VAULT_APPROLE_ROLE_ID'],
  },
  vaultAppRoleSecretIdArn: {
    group: 'Vault login',
    meaning:
      'AppRole, the reader: a Secrets Manager secret (ARN or name) holding the secret_id (plain or `{"secret_id": "..."}`).',
    allowed: 'required with `vaultAuthMethod=approle`; not the writer’s secret',
    variables: ['VAULT_APPROLE_SECRET_ID_SECRET'],
  },
  vaultWriterAppRoleRoleId: {
    group: 'Vault login',
    meaning: 'AppRole, the writer’s role_id (storeInVault and restoreVault).',
    allowed: 'required with `vaultAuthMethod=approle`',
    variables: ['VAULT_APPROLE_ROLE_ID'],
  },
  vaultWriterAppRoleSecretIdArn: {
    group: 'Vault login',
    meaning:
      'AppRole, the writer’s secret_id secret. Only storeInVault and restoreVault may read it; they cannot read the reader’s.',
    allowed: 'required with `vaultAuthMethod=approle`',
    variables: ['VAULT_APPROLE_SECRET_ID_SECRET'],
  },
  vaultTokenSecretArn: {
    group: 'Vault login',
    meaning: 'Token auth, the reader: a Secrets Manager secret (ARN or name; plain or `{"token": "..."}`).',
    allowed: 'with `vaultAuthMethod=token`, exactly one of this and `vaultTokenParameter`',
    variables: ['VAULT_TOKEN_SECRET_ID'],
  },
  vaultWriterTokenSecretArn: {
    group: 'Vault login',
    meaning: 'Token auth, the writer’s token secret; only storeInVault and restoreVault may read it.',
    allowed: 'with `vaultAuthMethod=token`, exactly one of this and `vaultWriterTokenParameter`',
    variables: ['VAULT_TOKEN_SECRET_ID'],
  },
  vaultTokenParameter: {
    group: 'Vault login',
    meaning: 'Token auth, the reader: an SSM SecureString holding the token.',
    allowed: 'a parameter name without its leading slash, e.g. `rotator/vault-token`',
    variables: ['VAULT_TOKEN_PARAMETER'],
  },
  vaultWriterTokenParameter: {
    group: 'Vault login',
    meaning: 'Token auth, the writer’s SSM SecureString; only storeInVault and restoreVault may read it.',
    allowed: 'a parameter name without its leading slash',
    variables: ['VAULT_TOKEN_PARAMETER'],
  },
  vaultCaParameter: {
    group: 'Vault TLS',
    meaning: 'A private CA for Vault’s certificate: an SSM parameter holding the PEM bundle.',
    allowed: 'a parameter name without its leading slash',
    variables: ['VAULT_CACERT_PARAMETER'],
  },
  vaultClientCertSecretArn: {
    group: 'Vault TLS',
    meaning:
      'A client certificate for Vault listeners that require one: a secret holding `{"certificate": PEM, "private_key": PEM}`, readable by the Vault functions.',
    variables: ['VAULT_CLIENT_CERT_SECRET_ID'],
  },
  vaultSecretsKmsKeyArn: {
    group: 'Vault TLS',
    meaning:
      'The customer-managed KMS key encrypting the token / secret_id secrets, the SSM parameters or the client certificate, if not AWS’s own: the Vault functions may `kms:Decrypt` with it only through Secrets Manager and SSM (`kms:ViaService`).',
  },
  keyAdministratorArn: {
    group: 'Keys and network',
    meaning:
      'Who administers the sealing key (and must deploy the stack) instead of the account’s IAM policies; see docs/deploying.md.',
  },
  vpcSubnetIds: {
    group: 'Keys and network',
    meaning: 'Subnets of the functions that talk to Vault (docs/deploying.md, "Lambdas in a VPC").',
    allowed: 'comma-separated `subnet-…` ids; with `vpcSecurityGroupIds` or neither',
  },
  vpcSecurityGroupIds: {
    group: 'Keys and network',
    meaning: 'Security groups of the functions that talk to Vault.',
    allowed: 'comma-separated `sg-…` ids; with `vpcSubnetIds` or neither',
  },
  graceSeconds: {
    group: 'Rotation windows',
    meaning: 'Default wait before deactivating the old key.',
    allowed: 'whole seconds, not below `minGraceSeconds`, above `inUseMarginSeconds`',
    variables: ['ROTATOR_GRACE_SECONDS'],
  },
  recoverySeconds: {
    group: 'Rotation windows',
    meaning: 'Default wait before deleting the old key.',
    allowed: 'whole seconds, not below `minRecoverySeconds`',
    variables: ['ROTATOR_RECOVERY_SECONDS'],
  },
  minGraceSeconds: {
    group: 'Rotation windows',
    meaning: 'No execution input may ask for a shorter `graceSeconds`.',
    allowed: 'whole seconds above `inUseMarginSeconds` (empty is a `ConfigurationError`, never 0)',
    variables: ['ROTATOR_MIN_GRACE_SECONDS'],
  },
  minRecoverySeconds: {
    group: 'Rotation windows',
    meaning: 'No execution input may ask for a shorter `recoverySeconds`.',
    allowed: 'whole seconds (empty is a `ConfigurationError`, never 0)',
    variables: ['ROTATOR_MIN_RECOVERY_SECONDS'],
  },
  inUseMarginSeconds: {
    group: 'Rotation windows',
    meaning:
      'How long after the new key is stored a use of the old key is still expected: consumers that re-read Vault every `refresh` seconds (docs/consumers.md) keep the old key up to refresh + clock skew. Uses later than this count as in use.',
    allowed: 'below `minGraceSeconds` and `graceSeconds`',
    min: 0,
    max: 86_400,
    variables: ['ROTATOR_IN_USE_MARGIN_SECONDS'],
  },
  allowOldKeyInUseProceed: {
    group: 'Rotation windows',
    meaning: 'Whether input may say `oldKeyInUse: "proceed"` (deactivate a key that is still in use).',
    values: ['true', 'false'],
    variables: ['ROTATOR_ALLOW_OLD_KEY_IN_USE_PROCEED'],
  },
  allowVaultPathMove: {
    group: 'Rotation windows',
    meaning: 'Whether input may set `moveVaultPath`.',
    values: ['true', 'false'],
    variables: ['ROTATOR_ALLOW_VAULT_PATH_MOVE'],
  },
  allowDeleteInactiveKey: {
    group: 'Rotation windows',
    meaning: 'Whether input may set `deleteInactiveKey`.',
    values: ['true', 'false'],
    variables: ['ROTATOR_ALLOW_DELETE_INACTIVE_KEY'],
  },
  allowVaultPathAdopt: {
    group: 'Rotation windows',
    meaning:
      'Whether input may set `adoptVaultPath`: serve a user never pinned at a path that does not serve one of its Active keys today (the operator vouches its consumers read there).',
    values: ['true', 'false'],
    variables: ['ROTATOR_ALLOW_VAULT_PATH_ADOPT'],
  },
  logRetentionDays: {
    group: 'Logs and alerts',
    meaning: 'How long the functions’ logs and the HTTP trigger’s access log are kept.',
    values: [
      '1',
      '3',
      '5',
      '7',
      '14',
      '30',
      '60',
      '90',
      '120',
      '150',
      '180',
      '365',
      '400',
      '545',
      '731',
      '1096',
      '1827',
      '2192',
      '2557',
      '2922',
      '3288',
      '3653',
    ],
  },
  alertEmail: {
    group: 'Logs and alerts',
    meaning: 'An address subscribed to the alert topic (AWS asks it to confirm), or empty for none.',
    allowed: 'an e-mail address, or empty',
  },
  outOfBandAlerts: {
    group: 'Logs and alerts',
    meaning:
      'The rules on IAM changes made outside a rotation. IAM’s CloudTrail events reach EventBridge in us-east-1 only: `auto` deploys them there only; `true` in any region (IAM’s events forwarded there); `false` never.',
    values: ['auto', 'true', 'false'],
  },
  organizationId: {
    group: 'Logs and alerts',
    meaning:
      'The Organization whose accounts may forward their IAM changes to this stack’s event bus (deploy/target-account.yml), besides `allowedAccountIds`; empty for none.',
    allowed: '`o-` and 10-32 of `[a-z0-9]`, or empty',
  },
  keyAgeAlarmSlackDays: {
    group: 'Logs and alerts',
    meaning:
      'The key-age alarm fires when an opted-in user’s oldest Active key is older than the scheduled fleet’s `maxKeyAgeDays` plus this many days, or when the fleet publishes nothing.',
    min: 1,
    max: 365,
  },
  httpTrigger: {
    group: 'HTTP trigger',
    meaning: '`true` deploys `POST /rotations` on API Gateway (signed requests only, AWS_IAM).',
    values: ['true', 'false'],
  },
  httpTriggerInvokers: {
    group: 'HTTP trigger',
    meaning:
      'Who else may invoke it: IAM role or user ARNs, account ids, Organization ids (`o-…`). Empty: only this account’s principals whose IAM policies grant `execute-api:Invoke`.',
    allowed: 'comma-separated; only with `httpTrigger: true`',
  },
  httpTriggerRateLimit: {
    group: 'HTTP trigger',
    meaning: 'The stage’s steady requests per second.',
    allowed: 'a number above 0, at most 10000',
    max: 10_000,
  },
  httpTriggerBurstLimit: {
    group: 'HTTP trigger',
    meaning: 'The stage’s burst.',
    min: 1,
    max: 5000,
  },
  httpTriggerLogRole: {
    group: 'HTTP trigger',
    meaning:
      'REST API access logs need the region’s API Gateway account setting to name a logging role: `create` (the stack sets it, kept when the stack is deleted) or `existing` (it is set already).',
    values: ['create', 'existing'],
  },
  allowedAccountIds: {
    group: 'Other accounts and the fleet',
    meaning:
      'Other accounts this deployment may rotate users in; empty: its own account only. Each needs deploy/target-account.yml deployed in it (docs/many-accounts.md).',
    allowed: 'comma-separated 12-digit ids (quote them in YAML)',
    variables: ['ROTATOR_ALLOWED_ACCOUNT_IDS'],
  },
  targetRoleName: {
    group: 'Other accounts and the fleet',
    meaning: 'The role deploy/target-account.yml creates in each of those accounts.',
    allowed: 'an IAM role name (1-64 of `[\\w+=,.@-]`)',
    variables: ['ROTATOR_TARGET_ROLE_NAME'],
  },
  targetExternalId: {
    group: 'Other accounts and the fleet',
    meaning:
      'The `ExternalId` the target role’s trust policy requires; a UUID will do. STS takes up to 1,224 characters; 1,024 keeps the trust policy within IAM’s default 2,048-character quota.',
    allowed: '2-1024 of `[\\w+=,.@:/-]`; required with `allowedAccountIds`',
    variables: ['ROTATOR_TARGET_EXTERNAL_ID'],
  },
  maxDuePerAccount: {
    group: 'Other accounts and the fleet',
    meaning:
      'The most due users one fleet run starts per account, oldest keys first; the others are deferred to the next run. A fleet input’s `maxDuePerAccount` may lower it for one run, never raise it.',
    min: 1,
    max: 10_000,
    variables: ['ROTATOR_MAX_DUE_PER_ACCOUNT'],
  },
  fleetResultsRetentionDays: {
    group: 'Other accounts and the fleet',
    meaning: 'Days the fleet bucket keeps each run’s lists, results and summary (`runs/`).',
    min: 1,
    max: 3650,
  },
};

module.exports = { PARAMETERS };
