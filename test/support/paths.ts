/** The states a rotation of a user with an old key, no longer in use, passes through. */
export const HAPPY_PATH = [
  'ValidateInput',
  'CreateKey',
  'IsDryRun',
  'StoreInVault',
  'VerifyKey',
  'HasOldKeys',
  'GracePeriod',
  'DeactivateOld',
  'OldKeyInUse',
  'RecoveryWindow',
  'DeleteOld',
  'Rotated',
];

/** The states of an execution whose CreateKey failed and whose cleanup (DiscardLeftovers) failed too. */
export const CLEANUP_FAILED = [
  'ValidateInput',
  'CreateKey',
  'DiscardLeftovers',
  'LeftoversMayRemain',
  'CreateKeyFailed',
];
