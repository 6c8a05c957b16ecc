import type { ExecutionInput } from './input.js';

/**
 * What each field of a schema means, for docs/reference/*.md (`npm run docs`). Kept beside the
 * schemas, not in them, so the Lambda bundles carry no prose; test/docs checks that every field has
 * one and no other field does.
 */
export interface FieldDoc {
  meaning: string;
  /** A default the deployment or the user decides, which the schema cannot state. */
  default?: string;
}

/** The execution input's fields (functions/commons/input.ts ExecutionInput). */
export const EXECUTION_INPUT_DOCS: Record<keyof ExecutionInput, FieldDoc> = {
  userName: {
    meaning:
      'The IAM user to rotate (IAM’s rules: 1-64 of `A-Z a-z 0-9 + = , . @ _ -`). The one required field.',
  },
  accountId: {
    meaning:
      'The account the user is in. Any account but the rotator’s own must be in the deployment’s `allowedAccountIds`, else `InvalidInputError` before any call.',
    default: 'the account the rotator is deployed in',
  },
  vaultPath: {
    meaning:
      'Where the key is served: segments of `A-Z a-z 0-9 . @ + = , _ -` without `.` or `..`, strictly below `vaultPathPrefix`; 256 characters at most (the user tag that pins it holds no more).',
    default: 'the user’s pin, else the path template (`<prefix><userName>`)',
  },
  dryRun: { meaning: 'Read IAM and Vault and return the plan without changing anything.' },
  graceSeconds: {
    meaning: 'How long consumers have to pick up the new key before the old one is deactivated.',
    default: 'the deployment’s `graceSeconds`; never below `minGraceSeconds`',
  },
  recoverySeconds: {
    meaning: 'How long the old key stays Inactive, re-activatable by hand, before it is deleted.',
    default: 'the deployment’s `recoverySeconds`; never below `minRecoverySeconds`',
  },
  deleteInactiveKey: {
    meaning:
      'Let CreateKey delete an Inactive key Vault does not hold, to make room under IAM’s two-key quota. Only where the deployment’s `allowDeleteInactiveKey` is true.',
  },
  oldKeyInUse: {
    meaning:
      'When the old key is still used after the new key was stored: `wait` and re-check, `proceed`, or `fail`. `proceed` only where `allowOldKeyInUseProceed` is true.',
    default: '`ROTATOR_OLD_KEY_IN_USE` (`wait`)',
  },
  moveVaultPath: {
    meaning:
      'Serve the key at a `vaultPath` other than the user’s pin, on purpose. Only where `allowVaultPathMove` is true, and never with `oldKeyInUse: "proceed"`.',
  },
  adoptVaultPath: {
    meaning:
      'Serve a never-pinned user’s key at an empty path: the operator vouches that its consumers read it there. Only where `allowVaultPathAdopt` is true.',
  },
  fleetTaskToken: {
    meaning:
      'Set by the fleet machine only: the task token its Map iteration waits on. Never copied into the request or logged; the HTTP trigger refuses it.',
  },
};
