// The CloudFormation resources built from deploy/policies.cjs at package time: one role per
// function, the sealing key, the tag signing keys and their policies, the state machines' roles,
// the fleet bucket and its key (deploy/fleet-bucket.cjs), the VPC settings, the grants to assume
// the target role in other accounts, the alerts (deploy/alerts.cjs), the HTTP trigger
// (deploy/http-trigger.cjs) and the dashboard (deploy/dashboard.cjs). The deployment parameters
// decide which statements and resources exist (no CloudFormation Conditions needed).
'use strict';

const policies = require('./policies.cjs');
const { require: tsxRequire } = require('tsx/cjs/api');
const { alertResources } = require('./alerts.cjs');
const { dashboardResources } = require('./dashboard.cjs');
const { httpTriggerResources, invokersFrom } = require('./http-trigger.cjs');
const { fleetBucketResources, namesBucket, namesBucketKey } = require('./fleet-bucket.cjs');
const { DEFAULT_BUS } = require('./iam-changes.cjs');
const { alarmPeriod } = require('./fleet-metrics.cjs');
const { PARAMETERS } = require('./parameters.cjs');
const { scheduleRoleResources } = require('./schedule-roles.cjs');

const fleet = tsxRequire('../functions/commons/fleet-input.ts', __filename);

const {
  FUNCTIONS,
  FLEET_FUNCTIONS,
  TARGET_STEPS,
  fleetFunctionPolicy,
  fleetStateMachinePolicy,
  fleetStateMachineTrustPolicy,
  functionPolicy,
  usesSealingKey,
  usesSigningKey,
  roleArnVariable,
  sealingKeyPolicy,
  signingKeyPolicy,
  stateMachinePolicy,
  stateMachineTrustPolicy,
} = policies;

const DESCRIPTIONS = {
  validateInput: 'validateInput: no AWS access beyond its own logs.',
  createKey: 'createKey: creates keys for rotated users and seals the secret.',
  storeInVault: 'storeInVault: opens the sealed new secret and writes it to Vault as the writer.',
  verifyKey:
    'verifyKey: calls STS with the new key itself; tags the user with the Vault path it verified, signed.',
  deactivateOld: 'deactivateOld: sets old keys Inactive.',
  deleteOld: 'deleteOld: deletes Inactive old keys.',
  restoreVault: 'restoreVault: Vault as the writer, and on KV v1 opening the sealed previous value.',
  discardNewKey: 'discardNewKey: deletes the new key on rollback.',
  discardLeftovers:
    "discardLeftovers: after CreateKey fails, deletes the keys its attempts created under the execution's verified claim.",
  planFleet: 'planFleet: checks the fleet input; no AWS access beyond its own logs.',
  listCandidates:
    "listCandidates: reads the users, tags and keys under the rotated path, verifies their tags, reads Vault; writes its account's lists to the fleet bucket.",
  writeFleetManifest: "writeFleetManifest: writes the run's manifest of due users to the fleet bucket.",
  summarizeFleet:
    "summarizeFleet: reads the run's results from the fleet bucket and writes its summary there; reads the rotation machine's executions a fleet found already started.",
  reportToFleet: 'reportToFleet: answers the task a fleet waits on when its rotation ends.',
};

const pascal = (name) => name.charAt(0).toUpperCase() + name.slice(1);

/** A comma-separated string or a list, as a list of trimmed non-empty strings. */
const list = (value) =>
  (Array.isArray(value) ? value : String(value ?? '').split(','))
    .map((v) => String(v).trim())
    .filter(Boolean);

async function readParams(resolveVariable) {
  const param = async (name) => {
    const value = await resolveVariable(`param:${name}`);
    return Array.isArray(value) ? value : String(value ?? '').trim();
  };
  const names = [
    'userPath',
    'rotateUsersAtRootPath',
    'vaultAuthMethod',
    'vaultAppRoleRoleId',
    'vaultAppRoleSecretIdArn',
    'vaultTokenSecretArn',
    'vaultTokenParameter',
    'vaultWriterAppRoleRoleId',
    'vaultWriterAppRoleSecretIdArn',
    'vaultWriterTokenSecretArn',
    'vaultWriterTokenParameter',
    'vaultCaParameter',
    'vaultClientCertSecretArn',
    'vaultSecretsKmsKeyArn',
    'keyAdministratorArn',
    'vpcSubnetIds',
    'vpcSecurityGroupIds',
    'alertEmail',
    'outOfBandAlerts',
    'httpTrigger',
    'graceSeconds',
    'minGraceSeconds',
    'minRecoverySeconds',
    'inUseMarginSeconds',
    'allowOldKeyInUseProceed',
    'allowVaultPathMove',
    'allowDeleteInactiveKey',
    'allowVaultPathAdopt',
    'allowedAccountIds',
    'targetRoleName',
    'targetExternalId',
    'vaultPathTemplate',
    'maxDuePerAccount',
    'fleetResultsRetentionDays',
    'organizationId',
    'httpTriggerInvokers',
    'httpTriggerRateLimit',
    'httpTriggerBurstLimit',
    'httpTriggerLogRole',
    'keyAgeAlarmSlackDays',
    'logRetentionDays',
    'vaultPathPrefix',
    'vaultKvVersion',
  ];
  const values = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await param(n)])));
  return {
    ...values,
    fleetRotation: (await resolveVariable('self:custom.fleetRotation')) ?? {},
    rotations: (await resolveVariable('self:custom.rotations')) ?? [],
    service: String(await resolveVariable('self:service')),
    stage: String(await resolveVariable('sls:stage')),
    region: String(await resolveVariable('aws:region')),
  };
}

/** Refuses the deployment at package time. */
function fail(message) {
  throw new Error(`deployment parameters: ${message}`);
}

/** A parameter that takes one of its listed values (deploy/parameters.cjs); anything else fails packaging. */
function flag(p, name) {
  const allowed = PARAMETERS[name].values;
  const value = String(p[name]);
  if (!allowed.includes(value)) fail(`${name} is one of ${allowed.join(', ')}, not '${value}'`);
  return value;
}

/** A whole-number parameter within its bounds (deploy/parameters.cjs), as a number; anything else fails packaging. */
function wholeNumber(p, name) {
  const { min, max } = PARAMETERS[name];
  const value = String(p[name]);
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail(`${name} is a whole number from ${min} to ${max}, not '${value}'`);
  }
  return Number(value);
}

/**
 * Refuses, at package time, any parameter read here outside the values or bounds deploy/parameters.cjs
 * gives it (logRetentionDays names CloudWatch Logs; httpTriggerRateLimit, which need not be whole, has its own check).
 */
function checkBounds(p) {
  for (const [name, { values, min }] of Object.entries(PARAMETERS)) {
    if (!(name in p)) continue;
    if (name === 'logRetentionDays') logRetentionDays(p);
    else if (values) flag(p, name);
    else if (min !== undefined) wholeNumber(p, name);
  }
}

/**
 * Refuses grace windows not longer than the in-use margin: deactivateOld counts only uses later than
 * the margin after the store, so a grace that ends before then checks the old key when no use can
 * count yet, and deactivates a key its consumers (refreshing every `refresh` seconds) still hold.
 */
function graceAboveMargin(p) {
  const margin = wholeNumber(p, 'inUseMarginSeconds');
  // A malformed minGraceSeconds fails with the other floors (deploy/schedules.cjs floorsOf).
  if (!/^\d+$/.test(String(p.graceSeconds))) {
    fail(`graceSeconds is a whole number of seconds, not '${p.graceSeconds}'`);
  }
  for (const name of ['minGraceSeconds', 'graceSeconds']) {
    const value = String(p[name]);
    if (/^\d+$/.test(value) && Number(value) <= margin) {
      fail(
        `${name} ${value} is not longer than inUseMarginSeconds ${margin}: a rotation with that grace checks the old key's last use before any use can count as in use, so the in-use check sees nothing; give it more than the margin (docs/configuration.md)`,
      );
    }
  }
}

/** The most due users one fleet run starts per account (fleet input may ask for another, as bounded). */
const maxDuePerAccount = (p) => wholeNumber(p, 'maxDuePerAccount');

/** The HTTP trigger's steady-state requests per second (API Gateway takes a fraction too). */
function httpTriggerRateLimit(p) {
  const value = String(p.httpTriggerRateLimit);
  const { max } = PARAMETERS.httpTriggerRateLimit;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0 || Number(value) > max) {
    fail(`httpTriggerRateLimit is a number of requests per second above 0, at most ${max}, not '${value}'`);
  }
  return Number(value);
}

/** How many days the fleet bucket keeps each run's objects. */
const fleetResultsRetentionDays = (p) => wholeNumber(p, 'fleetResultsRetentionDays');

/** How long the log groups this file makes (the HTTP trigger's access log) keep their events. */
function logRetentionDays(p) {
  const days = PARAMETERS.logRetentionDays.values;
  const value = String(p.logRetentionDays);
  if (!days.includes(value))
    fail(`logRetentionDays is one of CloudWatch Logs' ${days.join(', ')}, not '${value}'`);
  return Number(value);
}

/** The Organization whose accounts may forward IAM changes to this bus ('' for none). */
function organizationId(p) {
  const value = String(p.organizationId);
  if (value && !/^o-[a-z0-9]{10,32}$/.test(value)) {
    fail(`organizationId '${value}' is not an Organization id (o- and 10-32 of [a-z0-9])`);
  }
  return value;
}

/**
 * The key-age alarm's settings: the scheduled fleet's maxKeyAgeDays (its input's, else the fleet
 * input's default), the slack, and a period the fleet's schedule fills.
 */
function keyAge(p) {
  const slackDays = wholeNumber(p, 'keyAgeAlarmSlackDays');
  const { schedule = 'rate(1 day)', input = {} } = p.fleetRotation;
  const parsed = fleet.FleetInput.safeParse(input);
  // A bad input fails packaging in deploy/fleet-schedule.cjs, naming its fields.
  const maxKeyAgeDays = parsed.success ? parsed.data.maxKeyAgeDays : 90;
  const periodSeconds = alarmPeriod(schedule);
  if (periodSeconds === undefined) {
    fail(
      `custom.fleetRotation.schedule ${schedule} runs less often than weekly: the key-age alarm (keyAgeAlarmSlackDays) needs a fleet run at least every 7 days (a rate, or a cron every day or on days of the week)`,
    );
  }
  return { maxKeyAgeDays, slackDays, periodSeconds };
}

/**
 * Whether to deploy the out-of-band change rule: IAM's CloudTrail events reach EventBridge in
 * us-east-1 only, so `auto` deploys it there; `true` anywhere (IAM's events forwarded to this
 * region's default bus); `false` nowhere.
 */
function outOfBand(p) {
  const value = flag(p, 'outOfBandAlerts');
  return value === 'true' || (value === 'auto' && p.region === 'us-east-1');
}

/**
 * The users' IAM path, refused at package time when it would widen the grants: `*` or `?` are
 * wildcards in the users' ARN, and `/` reaches every user of the account, administrators included,
 * so it needs rotateUsersAtRootPath, which makes every grant on a user require the opt-in tag
 * (policies.cjs optedInOnly). Returns whether that switch is on.
 */
function usersAtRoot(p) {
  const path = String(p.userPath);
  if (!/^\/([\x21-\x7E]*\/)?$/.test(path) || path.length > 512) {
    fail(`userPath '${path}' is not an IAM path (/ or /…/, at most 512 characters)`);
  }
  if (/[*?]/.test(path)) fail(`userPath '${path}' holds * or ?: in the users' ARN they would be wildcards`);
  const atRoot = flag(p, 'rotateUsersAtRootPath') === 'true';
  if (path === '/' && !atRoot) {
    fail(
      "userPath '/' reaches every IAM user of the account, administrators included: move the rotated users into a path of their own, or set rotateUsersAtRootPath: true so that only users tagged iam-key-rotator:rotate=true can be touched (docs/deploying.md)",
    );
  }
  if (atRoot && path !== '/') fail(`rotateUsersAtRootPath needs userPath '/', not '${path}'`);
  if (atRoot && list(p.allowedAccountIds).length > 0) {
    // deploy/target-account.yml is one template for every member account: it takes no root path.
    fail('rotateUsersAtRootPath works in this account only: allowedAccountIds needs the users in a path');
  }
  return atRoot;
}

/** Refuses, at package time, a deployment whose Vault credentials or VPC would not work. */
function check(p) {
  for (const name of ['vaultTokenParameter', 'vaultWriterTokenParameter', 'vaultCaParameter']) {
    if (p[name].startsWith('/')) fail(`${name} is an SSM parameter name without its leading slash`);
  }
  const reader = { secret: p.vaultTokenSecretArn, parameter: p.vaultTokenParameter };
  const writer = { secret: p.vaultWriterTokenSecretArn, parameter: p.vaultWriterTokenParameter };
  if (p.vaultAuthMethod === 'token') {
    for (const [who, token, prefix] of [
      ['reader', reader, 'vault'],
      ['writer', writer, 'vaultWriter'],
    ]) {
      if (Boolean(token.secret) === Boolean(token.parameter)) {
        fail(
          `vaultAuthMethod=token needs exactly one of ${prefix}TokenSecretArn and ${prefix}TokenParameter (the ${who}'s token)`,
        );
      }
    }
    if (
      (reader.secret && reader.secret === writer.secret) ||
      (reader.parameter && reader.parameter === writer.parameter)
    ) {
      fail('the reader and the writer need tokens of their own');
    }
  }
  if (p.vaultAuthMethod === 'approle') {
    for (const name of [
      'vaultAppRoleRoleId',
      'vaultAppRoleSecretIdArn',
      'vaultWriterAppRoleRoleId',
      'vaultWriterAppRoleSecretIdArn',
    ]) {
      if (!p[name]) fail(`vaultAuthMethod=approle needs ${name}`);
    }
    if (p.vaultAppRoleSecretIdArn === p.vaultWriterAppRoleSecretIdArn) {
      fail('the reader and the writer need AppRole secret_ids of their own');
    }
  }
  if (p.alertEmail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(p.alertEmail)) {
    fail(`alertEmail ${p.alertEmail} is not an e-mail address`);
  }
  const subnets = list(p.vpcSubnetIds);
  const groups = list(p.vpcSecurityGroupIds);
  if (subnets.length > 0 !== groups.length > 0) fail('vpcSubnetIds and vpcSecurityGroupIds go together');
  for (const id of subnets)
    if (!/^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) fail(`${id} is not a subnet id`);
  for (const id of groups)
    if (!/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) fail(`${id} is not a security group id`);
  return subnets.length > 0 ? { subnetIds: subnets, securityGroupIds: groups } : undefined;
}

/**
 * The other accounts the rotator may act in, the target role's name and the ExternalId, refused at
 * package time when the functions would refuse them (functions/commons/accounts.ts) or STS would.
 */
function targetAccounts(p) {
  const accountIds = list(p.allowedAccountIds);
  for (const id of accountIds)
    if (!/^\d{12}$/.test(id)) fail(`allowedAccountIds: ${id} is not a 12-digit account id`);
  if (!/^[\w+=,.@-]{1,64}$/.test(p.targetRoleName)) {
    fail(`targetRoleName '${p.targetRoleName}' is not an IAM role name (1-64 of [\\w+=,.@-])`);
  }
  const externalId = p.targetExternalId;
  if (accountIds.length > 0 && !externalId) fail('allowedAccountIds needs targetExternalId');
  // Else users of one name in two accounts would be served at one Vault path.
  const folder = p.vaultPathTemplate.indexOf('{accountId}/');
  if (accountIds.length > 0 && (folder < 0 || p.vaultPathTemplate.slice(0, folder).includes('{userName}'))) {
    fail('allowedAccountIds needs a segment {accountId}/ before {userName} in vaultPathTemplate');
  }
  if (externalId && !/^[\w+=,.@:/-]{2,1024}$/.test(externalId)) {
    fail('targetExternalId is 2-1024 of [\\w+=,.@:/-]');
  }
  return { accountIds: [...new Set(accountIds)], roleName: p.targetRoleName, externalId };
}

/** The settings functionPolicy takes, from the deployment parameters: only what the auth method reads. */
function settings(p) {
  const vpc = check(p);
  const credentials = (prefix) =>
    p.vaultAuthMethod === 'token'
      ? { tokenSecret: p[`${prefix}TokenSecretArn`], tokenParameter: p[`${prefix}TokenParameter`] }
      : p.vaultAuthMethod === 'approle'
        ? { appRoleSecretId: p[`${prefix}AppRoleSecretIdArn`] }
        : {};
  return {
    rotateUsersAtRootPath: usersAtRoot(p),
    reader: credentials('vault'),
    writer: credentials('vaultWriter'),
    caParameter: p.vaultCaParameter,
    clientCertSecret: p.vaultClientCertSecretArn,
    secretsKeyArn: p.vaultSecretsKmsKeyArn,
    vpc,
    targetAccounts: { accountIds: targetAccounts(p).accountIds },
  };
}

/**
 * A policy document as CloudFormation: every string holding `${...}` becomes Fn::Sub with the
 * variables it uses; a string that is one variable standing for a resource becomes that reference.
 */
function toCloudFormation(document, variables) {
  const walk = (node) => {
    if (typeof node === 'string') {
      if (!node.includes('${')) return node;
      const whole = /^\$\{(\w+)\}$/.exec(node);
      if (whole && typeof variables[whole[1]] === 'object') return variables[whole[1]];
      const used = [...node.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
      for (const name of used) if (!(name in variables)) throw new Error(`no value for \${${name}}`);
      if (used.length === 0) return { 'Fn::Sub': node };
      return { 'Fn::Sub': [node, Object.fromEntries(used.map((name) => [name, variables[name]]))] };
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, walk(v)]),
      );
    }
    return node;
  };
  return walk(document);
}

const LAMBDA_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/**
 * The rule that hands every ended rotation to reportToFleet, which answers the fleet's waiting task
 * when a fleet started it (its input carries the task token), and the permission it invokes with.
 */
function fleetReportResources() {
  const target = { 'Fn::GetAtt': ['ReportToFleetLambdaFunction', 'Arn'] };
  return {
    FleetReportRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'iam-key-rotator: a rotation ended; reportToFleet answers the fleet waiting on it',
        EventPattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: {
            status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
            stateMachineArn: [{ Ref: 'RotateAccessKeyStateMachine' }],
          },
        },
        Targets: [{ Id: 'report-to-fleet', Arn: target }],
      },
    },
    FleetReportPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: target,
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['FleetReportRule', 'Arn'] },
      },
    },
  };
}

/** The tag signing keys' logical ids, by the kind of tag each signs (policies.cjs SIGNING_KEYS). */
const SIGNING_KEYS = { pin: 'PinSigningKey', claim: 'ClaimSigningKey' };

/**
 * The statements kept out of a role's own policy, by the policy of their own each goes to: each
 * names a resource whose policy names the roles (a key policy, the fleet bucket's policy, or the
 * fleet bucket's key through its encryption), so in the role they would be a dependency cycle.
 */
const ATTACHED = [
  ['SealingKeyUse', usesSealingKey],
  ['SigningKeyUse', (s) => usesSigningKey(s)],
  ['FleetBucketUse', (s) => namesBucket(s) || namesBucketKey(s)],
];

/**
 * A role (logical id `role`) whose own policy (`policyName`) holds its statements but the ATTACHED
 * ones, which go to policies of their own named `<Name><Group>` attached to it.
 */
function roleResources({ role, name, policyName, description, trust, statements }, cfn) {
  const group = (s) => ATTACHED.find(([, test]) => test(s))?.[0];
  const own = statements.filter((s) => group(s) === undefined);
  const resources = {
    [role]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: description,
        AssumeRolePolicyDocument: trust,
        Policies: [
          { PolicyName: policyName, PolicyDocument: cfn({ Version: '2012-10-17', Statement: own }) },
        ],
      },
    },
  };
  for (const [suffix] of ATTACHED) {
    const list = statements.filter((s) => group(s) === suffix);
    if (list.length === 0) continue;
    resources[`${pascal(name)}${suffix}`] = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: `${name}${suffix}`,
        Roles: [{ Ref: role }],
        PolicyDocument: cfn({ Version: '2012-10-17', Statement: list }),
      },
    };
  }
  return resources;
}

function resourcesFrom(p) {
  checkBounds(p);
  graceAboveMargin(p);
  const variables = {
    Service: p.service,
    Stage: p.stage,
    UserPath: p.userPath,
    TargetRoleName: p.targetRoleName,
    SealingKeyArn: { 'Fn::GetAtt': ['SecretSealingKey', 'Arn'] },
    ...Object.fromEntries(
      Object.entries(SIGNING_KEYS).map(([kind, id]) => [
        `${pascal(kind)}KeyArn`,
        { 'Fn::GetAtt': [id, 'Arn'] },
      ]),
    ),
    ...Object.fromEntries(
      [...FUNCTIONS, ...FLEET_FUNCTIONS].map((fn) => [
        roleArnVariable(fn),
        { 'Fn::GetAtt': [`${pascal(fn)}Role`, 'Arn'] },
      ]),
    ),
    FleetStateMachineRoleArn: { 'Fn::GetAtt': ['FleetStateMachineRole', 'Arn'] },
    FleetBucket: { Ref: 'FleetBucket' },
    FleetBucketKeyArn: { 'Fn::GetAtt': ['FleetBucketKey', 'Arn'] },
  };
  const cfn = (document) => toCloudFormation(document, variables);
  const administratorArn = p.keyAdministratorArn || undefined;
  const policySettings = settings(p);
  // Each role: its logical id, the name of its policies, and its statements.
  const functionRole = (fn, statements) => ({
    role: `${pascal(fn)}Role`,
    name: fn,
    policyName: `${fn}-step`,
    description: DESCRIPTIONS[fn],
    trust: LAMBDA_TRUST,
    statements,
  });
  const roles = [
    ...FUNCTIONS.map((fn) => functionRole(fn, functionPolicy(fn, policySettings).Statement)),
    {
      role: 'StateMachineRole',
      name: 'stateMachine',
      policyName: 'state-machine',
      description:
        'The rotation state machine: invokes its 9 functions, reports to the fleet that started it, logs and traces.',
      trust: cfn(stateMachineTrustPolicy()),
      statements: stateMachinePolicy().Statement,
    },
  ];
  const fleetRoles = [
    ...FLEET_FUNCTIONS.map((fn) => functionRole(fn, fleetFunctionPolicy(fn, policySettings).Statement)),
    {
      role: 'FleetStateMachineRole',
      name: 'fleetStateMachine',
      policyName: 'fleet-state-machine',
      description:
        'The fleet state machine: invokes its steps, reads and writes the fleet bucket, starts rotations, logs and traces.',
      trust: cfn(fleetStateMachineTrustPolicy()),
      statements: fleetStateMachinePolicy().Statement,
    },
  ];
  // The bucket is the fleet's: a per-user machine's role naming it is a mistake in policies.cjs.
  for (const { role, statements } of roles) {
    if (statements.some((s) => namesBucket(s) || namesBucketKey(s))) {
      throw new Error(`${role} names the fleet bucket or its key: only the fleet's roles may`);
    }
  }
  const resources = {};
  for (const role of [...roles, ...fleetRoles]) Object.assign(resources, roleResources(role, cfn));
  resources.SecretSealingKey = {
    Type: 'AWS::KMS::Key',
    Properties: {
      Description: 'iam-key-rotator: seals new secret access keys between createKey and storeInVault',
      EnableKeyRotation: true,
      KeyPolicy: cfn(sealingKeyPolicy({ administratorArn })),
    },
  };
  for (const [kind, id] of Object.entries(SIGNING_KEYS)) {
    resources[id] = {
      Type: 'AWS::KMS::Key',
      Properties: {
        Description: `iam-key-rotator: signs the ${kind} tag of rotated users (HMAC), so that nobody else can write one`,
        KeySpec: 'HMAC_256',
        KeyUsage: 'GENERATE_VERIFY_MAC',
        // KMS rotates symmetric encryption keys only; an HMAC key with rotation on fails to deploy.
        EnableKeyRotation: false,
        KeyPolicy: cfn(signingKeyPolicy(kind, { administratorArn })),
      },
    };
  }
  Object.assign(
    resources,
    fleetBucketResources(
      {
        retentionDays: fleetResultsRetentionDays(p),
        administratorArn,
        users: fleetRoles.map(({ role, statements }) => ({ role, statements })),
      },
      cfn,
    ),
  );
  Object.assign(resources, fleetReportResources());
  Object.assign(
    resources,
    scheduleRoleResources({
      service: p.service,
      stage: p.stage,
      rotations: Array.isArray(p.rotations) ? p.rotations.length : 0,
    }),
  );
  // deploy/target-account.yml's parameters of the same names: a StackSet is fed from these.
  const outputs = Object.fromEntries(
    TARGET_STEPS.map((step) => [
      roleArnVariable(step),
      {
        Description: `${step}'s role: deploy/target-account.yml's ${roleArnVariable(step)}`,
        Value: { 'Fn::GetAtt': [`${pascal(step)}Role`, 'Arn'] },
      },
    ]),
  );
  const trigger = flag(p, 'httpTrigger') === 'true';
  // Checked whether the trigger is on or not: a typo fails now, not when it is turned on.
  const invokers = invokersFrom(p.httpTriggerInvokers);
  if (!trigger && invokers.length > 0) fail('httpTriggerInvokers needs httpTrigger: true');
  const throttle = {
    rateLimit: httpTriggerRateLimit(p),
    burstLimit: wholeNumber(p, 'httpTriggerBurstLimit'),
  };
  const logs = {
    retentionDays: logRetentionDays(p),
    role: flag(p, 'httpTriggerLogRole'),
  };
  if (trigger) {
    const floors = {
      minGraceSeconds: p.minGraceSeconds,
      minRecoverySeconds: p.minRecoverySeconds,
      allowOldKeyInUseProceed: p.allowOldKeyInUseProceed,
      allowVaultPathMove: p.allowVaultPathMove,
      allowDeleteInactiveKey: p.allowDeleteInactiveKey,
      allowVaultPathAdopt: p.allowVaultPathAdopt,
    };
    Object.assign(
      resources,
      httpTriggerResources({
        service: p.service,
        stage: p.stage,
        floors,
        accounts: { pathPrefix: p.vaultPathPrefix, allowedAccountIds: targetAccounts(p).accountIds },
        invokers,
        throttle,
        logs,
        cfn,
      }),
    );
    outputs.RotationsUrl = {
      Value: {
        'Fn::Sub': `https://\${RotationsApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/${p.stage}/rotations`,
      },
    };
  }
  const alertsHere = outOfBand(p);
  const ageAlarm = keyAge(p);
  Object.assign(
    resources,
    alertResources({
      service: p.service,
      stage: p.stage,
      alertEmail: p.alertEmail,
      outOfBand: alertsHere,
      keyAdministratorArn: p.keyAdministratorArn,
      // Every role made so far: the functions', the state machines', the HTTP trigger's.
      roles: Object.keys(resources).filter((id) => resources[id].Type === 'AWS::IAM::Role'),
      accountIds: targetAccounts(p).accountIds,
      targetRoleName: p.targetRoleName,
      organizationId: organizationId(p),
      keyAge: ageAlarm,
    }),
  );
  Object.assign(
    resources,
    dashboardResources({
      service: p.service,
      stage: p.stage,
      functions: [...FUNCTIONS, ...FLEET_FUNCTIONS],
      keyAgeThreshold: ageAlarm.maxKeyAgeDays + ageAlarm.slackDays,
    }),
  );
  if (alertsHere) {
    // deploy/target-account.yml's parameter of the same name: member accounts forward IAM's changes here.
    outputs.RotatorEventBusArn = {
      Description:
        "The bus the member accounts forward IAM's changes to: deploy/target-account.yml's RotatorEventBusArn",
      Value: { 'Fn::Sub': DEFAULT_BUS },
    };
  }
  return { Resources: resources, Outputs: outputs };
}

/** serverless.yml: `resources` (a list) includes `${file(deploy/template.cjs):resources}`. */
async function resources({ resolveVariable }) {
  return resourcesFrom(await readParams(resolveVariable));
}

/** serverless.yml: the Vault functions' `vpc`; false when the parameters name no VPC. */
async function vpc({ resolveVariable }) {
  return check(await readParams(resolveVariable)) ?? false;
}

/**
 * serverless.yml: environment values derived from parameters (SSM names get their leading slash;
 * the account ids one comma-separated string however the parameter was written; numbers checked).
 */
async function environment({ resolveVariable }) {
  const p = await readParams(resolveVariable);
  const path = (name) => (name ? `/${name}` : '');
  const targets = targetAccounts(p);
  return {
    readerTokenParameter: path(p.vaultTokenParameter),
    writerTokenParameter: path(p.vaultWriterTokenParameter),
    caParameter: path(p.vaultCaParameter),
    allowedAccountIds: targets.accountIds.join(','),
    targetRoleName: targets.roleName,
    targetExternalId: targets.externalId,
    maxDuePerAccount: String(maxDuePerAccount(p)),
  };
}

module.exports = { resources, vpc, environment };
