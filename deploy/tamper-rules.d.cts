// Types of tamper-rules.cjs for the tests.
/** The logical ids of the KMS keys the key tamper rule watches. */
export const TRUSTED_KEYS: string[];
/** The CloudTrail event names each tamper rule matches. */
export const KEY_EVENTS: string[];
export const ROLE_EVENTS: string[];
export const MACHINE_EVENTS: string[];
export const BUCKET_EVENTS: string[];
