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
