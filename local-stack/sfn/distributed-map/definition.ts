import { createHash } from 'node:crypto';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { z } from 'zod';
import type { Json } from '../../lambda.js';
import { DistributedMapDefinitionError } from './errors.js';
import { ItemSelector } from './item-selector.js';

/** How a Map Run reads its items from S3. */
export interface ReaderSpec {
  inputType: 'JSON' | 'JSONL' | 'CSV';
  /** The object is an Athena manifest: one `s3://bucket/key` per line, each object read in turn. */
  athenaManifest: boolean;
  csv?: { headers: string[] | 'FIRST_ROW'; delimiter: string };
}

/** A DISTRIBUTED Map state, checked, with what its Map Run needs besides the resolved Parameters. */
export interface DistributedMapSpec {
  state: string;
  /** Names the child workflows' machine (`<machine>/<label>`) and the Map Run. */
  label: string;
  /** The ItemProcessor as a state machine of its own: each item runs as an execution of it. */
  processor: StateMachineDefinition;
  reader?: ReaderSpec;
  selector?: ItemSelector;
  writes: boolean;
}

/**
 * What a DISTRIBUTED Map becomes for the local runner: a Task of this resource, whose handler runs
 * the Map Run. The Task keeps the Map's InputPath, ResultSelector, ResultPath, OutputPath, Retry,
 * Catch, Next and End; its Parameters carry the Map's inputs for the runner to resolve.
 */
export const MAP_RUN_RESOURCE = 'arn:aws:states:::mapRun';

// Node's timers hold at most 2^31-1 ms; a Map Run has no timeout of its own.
const NO_TIMEOUT_SECONDS = 2_147_483;

// A Map never fails with States.TaskFailed, but the local runner would let it match any error of a Task.
const NOT_A_TASK_ERROR = 'DistributedMap.NeverTaskFailed';

const MAX_LABEL_LENGTH = 40;
const LABEL_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u;

const S3_GET_OBJECT = /^arn:aws[a-z-]*:states:::s3:getObject$/;
const S3_PUT_OBJECT = /^arn:aws[a-z-]*:states:::s3:putObject$/;

const Template = z.record(z.string(), z.json());
const Retrier = z.looseObject({ ErrorEquals: z.array(z.string()).min(1) });

const ReaderConfig = z.strictObject({
  InputType: z.enum(['JSON', 'JSONL', 'CSV', 'MANIFEST', 'PARQUET']).optional(),
  ManifestType: z.enum(['ATHENA_DATA', 'S3_INVENTORY']).optional(),
  CSVHeaderLocation: z.enum(['FIRST_ROW', 'GIVEN']).optional(),
  CSVHeaders: z.array(z.string()).optional(),
  CSVDelimiter: z.enum(['COMMA', 'PIPE', 'SEMICOLON', 'SPACE', 'TAB']).optional(),
  MaxItems: z.number().int().min(0).max(100_000_000).optional(),
  MaxItemsPath: z.string().optional(),
});

const DistributedMap = z.strictObject({
  Type: z.literal('Map'),
  Comment: z.string().optional(),
  ItemProcessor: z.strictObject({
    Comment: z.string().optional(),
    ProcessorConfig: z.strictObject({
      Mode: z.literal('DISTRIBUTED'),
      ExecutionType: z.enum(['STANDARD', 'EXPRESS']),
    }),
    StartAt: z.string(),
    States: z.record(z.string(), z.json()),
  }),
  ItemReader: z
    .strictObject({
      Resource: z.string(),
      Parameters: Template.optional(),
      ReaderConfig: ReaderConfig.optional(),
    })
    .optional(),
  ItemsPath: z.string().optional(),
  ItemSelector: Template.optional(),
  Parameters: Template.optional(),
  MaxConcurrency: z.number().int().min(0).optional(),
  MaxConcurrencyPath: z.string().optional(),
  ToleratedFailurePercentage: z.number().min(0).max(100).optional(),
  ToleratedFailurePercentagePath: z.string().optional(),
  ToleratedFailureCount: z.number().int().min(0).optional(),
  ToleratedFailureCountPath: z.string().optional(),
  Label: z.string().optional(),
  ResultWriter: z.strictObject({ Resource: z.string(), Parameters: Template }).optional(),
  InputPath: z.string().nullable().optional(),
  OutputPath: z.string().nullable().optional(),
  ResultPath: z.string().nullable().optional(),
  ResultSelector: Template.optional(),
  Retry: z.array(Retrier).optional(),
  Catch: z.array(Retrier).optional(),
  Next: z.string().optional(),
  End: z.boolean().optional(),
});
type DistributedMapState = z.infer<typeof DistributedMap>;

const DELIMITERS = { COMMA: ',', PIPE: '|', SEMICOLON: ';', SPACE: ' ', TAB: '\t' } as const;

const isDistributed = (state: unknown): boolean =>
  (state as { Type?: unknown; ItemProcessor?: { ProcessorConfig?: { Mode?: unknown } } }).Type === 'Map' &&
  (state as { ItemProcessor?: { ProcessorConfig?: { Mode?: unknown } } }).ItemProcessor?.ProcessorConfig
    ?.Mode === 'DISTRIBUTED';

/** A name-based id (UUID version 3 layout) for a Map without a Label: the same machine and state give the same one. */
function defaultLabel(machine: string, state: string): string {
  const hex = createHash('md5').update(`${machine}/${state}`).digest('hex');
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-3${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

function either(state: string, literal: unknown, path: unknown, field: string): void {
  if (literal !== undefined && path !== undefined) {
    throw new DistributedMapDefinitionError(state, `${field} and ${field}Path cannot both be given`);
  }
}

const valueOrPath = (
  key: string,
  literal: Json | undefined,
  path: string | undefined,
): Record<string, Json> =>
  literal !== undefined ? { [key]: literal } : path !== undefined ? { [`${key}.$`]: path } : {};

function readerSpec(name: string, map: DistributedMapState): ReaderSpec | undefined {
  const reader = map.ItemReader;
  if (!reader) return undefined;
  const refuse = (detail: string): never => {
    throw new DistributedMapDefinitionError(name, detail);
  };
  if (!S3_GET_OBJECT.test(reader.Resource)) {
    refuse(`ItemReader Resource ${reader.Resource} is not emulated (arn:aws:states:::s3:getObject is)`);
  }
  if (map.ItemsPath !== undefined) refuse('ItemsPath over the items of an ItemReader is not emulated');
  const config = reader.ReaderConfig ?? {};
  const inputType = config.InputType ?? refuse('ReaderConfig.InputType is required with s3:getObject');
  if (inputType !== 'JSON' && inputType !== 'JSONL' && inputType !== 'CSV') {
    return refuse(`ReaderConfig InputType ${inputType} is not emulated (JSON, JSONL and CSV are)`);
  }
  if (config.ManifestType === 'S3_INVENTORY')
    refuse('ReaderConfig ManifestType S3_INVENTORY is not emulated');
  const athenaManifest = config.ManifestType === 'ATHENA_DATA';
  if (athenaManifest && inputType === 'JSON')
    refuse('an ATHENA_DATA manifest lists CSV or JSONL objects, not JSON');
  either(name, config.MaxItems, config.MaxItemsPath, 'ReaderConfig.MaxItems');
  if (inputType !== 'CSV') {
    if (config.CSVHeaderLocation ?? config.CSVHeaders ?? config.CSVDelimiter) {
      refuse(`ReaderConfig CSV fields apply to InputType CSV, not ${inputType}`);
    }
    return { inputType, athenaManifest };
  }
  const location = config.CSVHeaderLocation ?? refuse('ReaderConfig.CSVHeaderLocation is required for CSV');
  if (location === 'GIVEN' && !config.CSVHeaders?.length) refuse('CSVHeaderLocation GIVEN needs CSVHeaders');
  if (location === 'FIRST_ROW' && config.CSVHeaders)
    refuse('CSVHeaders apply to CSVHeaderLocation GIVEN only');
  return {
    inputType,
    athenaManifest,
    csv: {
      headers: location === 'GIVEN' ? (config.CSVHeaders ?? []) : 'FIRST_ROW',
      delimiter: DELIMITERS[config.CSVDelimiter ?? 'COMMA'],
    },
  };
}

/** The Task the runner executes instead of the Map, and what the Map Run needs to know. */
function rewriteMap(machine: string, name: string, raw: unknown): { task: Json; spec: DistributedMapSpec } {
  const parsed = DistributedMap.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(state)'}: ${issue.message}`,
    );
    throw new DistributedMapDefinitionError(name, issues.join('; '));
  }
  const map = parsed.data;
  if (map.ItemProcessor.ProcessorConfig.ExecutionType !== 'STANDARD') {
    throw new DistributedMapDefinitionError(name, 'EXPRESS child workflows are not emulated (STANDARD are)');
  }
  if (map.ItemSelector && map.Parameters) {
    throw new DistributedMapDefinitionError(name, 'ItemSelector and Parameters cannot both be given');
  }
  const label = map.Label ?? defaultLabel(machine, name);
  const bad = LABEL_FORBIDDEN.exec(label)?.[0];
  if (bad !== undefined || label.length === 0 || label.length > MAX_LABEL_LENGTH) {
    throw new DistributedMapDefinitionError(
      name,
      bad !== undefined
        ? `Label contains invalid character: '${bad}'`
        : `Label must be 1 to ${MAX_LABEL_LENGTH} characters`,
    );
  }
  either(name, map.MaxConcurrency, map.MaxConcurrencyPath, 'MaxConcurrency');
  either(
    name,
    map.ToleratedFailurePercentage,
    map.ToleratedFailurePercentagePath,
    'ToleratedFailurePercentage',
  );
  either(name, map.ToleratedFailureCount, map.ToleratedFailureCountPath, 'ToleratedFailureCount');
  if (map.ResultWriter && !S3_PUT_OBJECT.test(map.ResultWriter.Resource)) {
    throw new DistributedMapDefinitionError(
      name,
      `ResultWriter Resource ${map.ResultWriter.Resource} is not emulated (arn:aws:states:::s3:putObject is)`,
    );
  }
  const reader = readerSpec(name, map);
  let selector: ItemSelector | undefined;
  const selectorTemplate = map.ItemSelector ?? map.Parameters;
  try {
    selector = selectorTemplate ? new ItemSelector(selectorTemplate) : undefined;
  } catch (error) {
    throw new DistributedMapDefinitionError(name, `ItemSelector ${(error as Error).message}`);
  }
  const config = map.ItemReader?.ReaderConfig;
  const parameters: Record<string, Json> = {
    ...(map.ItemReader ? { reader: map.ItemReader.Parameters ?? {} } : { 'items.$': map.ItemsPath ?? '$' }),
    ...valueOrPath('maxItems', config?.MaxItems, config?.MaxItemsPath),
    ...valueOrPath('maxConcurrency', map.MaxConcurrency, map.MaxConcurrencyPath),
    ...valueOrPath(
      'toleratedFailurePercentage',
      map.ToleratedFailurePercentage,
      map.ToleratedFailurePercentagePath,
    ),
    ...valueOrPath('toleratedFailureCount', map.ToleratedFailureCount, map.ToleratedFailureCountPath),
    ...(map.ResultWriter ? { writer: map.ResultWriter.Parameters } : {}),
    ...(selector ? { selector: selector.template } : {}),
  };
  const retriers = (list: z.infer<typeof Retrier>[] | undefined) =>
    list?.map((entry) => ({
      ...entry,
      ErrorEquals: entry.ErrorEquals.map((error) =>
        error === 'States.TaskFailed' ? NOT_A_TASK_ERROR : error,
      ),
    })) as Json | undefined;
  const kept = Object.fromEntries(
    (['Comment', 'InputPath', 'ResultSelector', 'ResultPath', 'OutputPath', 'Next', 'End'] as const)
      .filter((field) => map[field] !== undefined)
      .map((field) => [field, map[field] as Json]),
  );
  const retry = retriers(map.Retry);
  const katch = retriers(map.Catch);
  const task: Json = {
    Type: 'Task',
    Resource: MAP_RUN_RESOURCE,
    TimeoutSeconds: NO_TIMEOUT_SECONDS,
    Parameters: parameters,
    ...kept,
    ...(retry ? { Retry: retry } : {}),
    ...(katch ? { Catch: katch } : {}),
  };
  const { StartAt, States, Comment } = map.ItemProcessor;
  const processor = { StartAt, States, ...(Comment ? { Comment } : {}) } as unknown as StateMachineDefinition;
  return {
    task,
    spec: {
      state: name,
      label,
      processor,
      ...(reader ? { reader } : {}),
      ...(selector ? { selector } : {}),
      writes: !!map.ResultWriter,
    },
  };
}

/**
 * The definition with every DISTRIBUTED Map (at any depth, but not inside another one's
 * ItemProcessor: that one is a machine of its own) replaced by its Map Run Task. Throws
 * DistributedMapDefinitionError for a Distributed Map this emulator would not run as AWS does.
 */
export function rewriteDistributedMaps(
  definition: StateMachineDefinition,
  machine: string,
): { definition: StateMachineDefinition; maps: DistributedMapSpec[] } {
  const maps: DistributedMapSpec[] = [];
  const visit = (states: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(states).map(([name, state]) => {
        if (isDistributed(state)) {
          const { task, spec } = rewriteMap(machine, name, state);
          maps.push(spec);
          return [name, task];
        }
        const nested = state as {
          ItemProcessor?: { States?: Record<string, unknown> };
          Iterator?: { States?: Record<string, unknown> };
          Branches?: { States?: Record<string, unknown> }[];
        };
        const inner = (body: { States?: Record<string, unknown> } | undefined) =>
          body?.States ? { ...body, States: visit(body.States) } : body;
        return [
          name,
          {
            ...(state as object),
            ...(nested.ItemProcessor ? { ItemProcessor: inner(nested.ItemProcessor) } : {}),
            ...(nested.Iterator ? { Iterator: inner(nested.Iterator) } : {}),
            ...(nested.Branches ? { Branches: nested.Branches.map(inner) } : {}),
          },
        ];
      }),
    );
  const root = definition as unknown as { States: Record<string, unknown> };
  const rewritten = { ...root, States: visit(root.States) } as unknown as StateMachineDefinition;
  return { definition: maps.length > 0 ? rewritten : definition, maps };
}
