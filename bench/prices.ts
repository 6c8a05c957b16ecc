/**
 * The AWS list prices the bench's cost figures use, in one place: US East (N. Virginia), on-demand,
 * first tier, as the pricing pages said when read. Update the date with the figures.
 */
export const PRICES = {
  region: 'us-east-1',
  readOn: '2026-12-01',
  sources: [
    'https://aws.amazon.com/step-functions/pricing/',
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/kms/pricing/',
  ],
  /**
   * Step Functions Standard workflows: $0.025 per 1,000 state transitions, retries included (after
   * the free tier of 4,000 a month, left out here). The fleet and rotation machines and the fleet's
   * Map Run child workflows (ExecutionType STANDARD) are all Standard.
   */
  stateTransitionUsd: 0.025 / 1_000,
  /**
   * Why a Distributed Map costs one transition per child workflow on top of the child's own states
   * (an Inline Map's iterations cost none of their own).
   */
  distributedMapSource:
    'https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html: a Distributed Map is charged one state transition per child workflow execution it starts',
  /** Lambda: $0.20 per million requests. */
  lambdaRequestUsd: 0.2 / 1_000_000,
  /** Lambda duration per GB-second, by architecture; init code is billed as duration too. */
  lambdaGbSecondUsd: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  /** KMS: $0.03 per 10,000 requests (Encrypt, Decrypt, GenerateMac, VerifyMac); keys are billed per month. */
  kmsRequestUsd: 0.03 / 10_000,
} as const;
