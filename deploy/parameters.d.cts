// Types of parameters.cjs for the docs generator and the tests.
export interface Parameter {
  /** The reference page's section. */
  group: string;
  meaning: string;
  /** What it takes, where min/max/values do not say it all. */
  allowed?: string;
  min?: number;
  max?: number;
  values?: string[];
  /** The environment variables that carry it to the functions. */
  variables?: string[];
}
export const PARAMETERS: Record<string, Parameter>;
