// Types of iam-changes.cjs for the tests.
/** The name of deploy/target-account.yml's forwarding rule, the one the rotator's bus policy admits. */
export const FORWARD_RULE_NAME: string;
/** Where IAM's CloudTrail events reach EventBridge. */
export const IAM_EVENTS_REGION: string;
export const KEY_EVENTS: string[];
export const TAG_EVENTS: string[];
export const TAG_PREFIX: string;
