import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../local-stack/sfn/distributed-map/csv.js';
import {
  MAP_RUN_RESOURCE,
  rewriteDistributedMaps,
} from '../../local-stack/sfn/distributed-map/definition.js';
import type { Json } from '../../local-stack/lambda.js';
import { ItemSelector } from '../../local-stack/sfn/distributed-map/item-selector.js';

const PROCESSOR = {
  ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
  StartAt: 'P',
  States: { P: { Type: 'Pass', End: true } },
};

const machine = (map: object): StateMachineDefinition =>
  ({ StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: PROCESSOR, End: true, ...map } } }) as never;

const rewrite = (map: object) => rewriteDistributedMaps(machine(map), 'fleet');

describe('rewriteDistributedMaps', () => {
  it('replaces a Distributed Map by its Map Run Task, keeping its data flow and error handling', () => {
    const { definition, maps } = rewrite({
      InputPath: '$.in',
      ItemsPath: '$.items',
      MaxConcurrencyPath: '$.concurrency',
      ToleratedFailurePercentage: 100,
      ResultSelector: { 'n.$': '$.MapRunArn' },
      ResultPath: '$.out',
      Retry: [{ ErrorEquals: ['States.TaskFailed', 'States.ItemReaderFailed'] }],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'M' }],
    });
    expect((definition.States as Record<string, unknown>).M).toEqual({
      Type: 'Task',
      Resource: MAP_RUN_RESOURCE,
      TimeoutSeconds: 2_147_483,
      Parameters: {
        'items.$': '$.items',
        'maxConcurrency.$': '$.concurrency',
        toleratedFailurePercentage: 100,
      },
      InputPath: '$.in',
      ResultSelector: { 'n.$': '$.MapRunArn' },
      ResultPath: '$.out',
      End: true,
      // A Map never fails with States.TaskFailed; the runner would let it match any error of a Task.
      Retry: [{ ErrorEquals: ['DistributedMap.NeverTaskFailed', 'States.ItemReaderFailed'] }],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'M' }],
    });
    expect(maps).toHaveLength(1);
    expect(maps[0]?.processor).toEqual({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });
  });

  it('names a Map without Label by a stable name-based UUID, and leaves inline Maps alone', () => {
    const label = rewrite({}).maps[0]?.label;
    expect(label).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rewrite({}).maps[0]?.label).toBe(label);
    const inline = machine({ ItemProcessor: { ...PROCESSOR, ProcessorConfig: { Mode: 'INLINE' } } });
    expect(rewriteDistributedMaps(inline, 'fleet')).toEqual({ definition: inline, maps: [] });
  });

  it.each([
    [
      { ItemProcessor: { ...PROCESSOR, ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' } } },
      'EXPRESS child workflows are not emulated',
    ],
    [{ ItemBatcher: { MaxItemsPerBatch: 10 } }, 'Unrecognized key'],
    [{ Label: 'my label' }, "Label contains invalid character: ' '"],
    [
      { MaxConcurrency: 1, MaxConcurrencyPath: '$.n' },
      'MaxConcurrency and MaxConcurrencyPath cannot both be given',
    ],
    [
      { ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'b' } } },
      'is not emulated',
    ],
    [
      {
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'CSV' },
          Parameters: {},
        },
      },
      'CSVHeaderLocation is required',
    ],
    [
      {
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'PARQUET' },
          Parameters: {},
        },
      },
      'InputType PARQUET is not emulated',
    ],
    [{ ItemSelector: { 'v.$': "States.Format('{}', $$.Map.Item.Value)" } }, "field 'v.$'"],
    [
      {
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: 'b' },
          WriterConfig: {},
        },
      },
      'Unrecognized key',
    ],
  ])('refuses what it would not run as AWS does: %j', (map, message) => {
    expect(() => rewrite(map)).toThrow(message);
  });
});

describe('ItemSelector', () => {
  it('fills $$.Map.Item references per item, keeping the template order and the resolved rest', () => {
    const selector = new ItemSelector({
      'value.$': '$$.Map.Item.Value.user[0]',
      'static.$': '$.s',
      at: { 'i.$': '$$.Map.Item.Index' },
    });
    // As the runner resolves the template: `static.$` read from the input, placeholders kept.
    const template = selector.template as Record<string, Json>;
    expect(template['static.$']).toBe('$.s');
    const resolved = { value: template.value ?? null, static: 'S', at: template.at ?? null };
    const selected = selector.select(resolved, { Index: 4, Value: { user: ['u'] }, Source: 'STATE_DATA' });
    expect(selected).toEqual({ value: 'u', static: 'S', at: { i: 4 } });
    expect(Object.keys(selected as object)).toEqual(['value', 'static', 'at']);
    expect(() => selector.select(resolved, { Index: 0, Value: {}, Source: 'STATE_DATA' })).toThrow(
      "The JSONPath '$$.Map.Item.Value.user[0]' could not be found",
    );
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with delimiters, doubled quotes and line ends, CRLF or LF', () => {
    expect(parseCsv('a,"b,c"\r\n"d""e","f\ng"\n', ',')).toEqual([
      ['a', 'b,c'],
      ['d"e', 'f\ng'],
    ]);
    expect(parseCsv('a|b\n\nc', '|')).toEqual([['a', 'b'], [''], ['c']]);
    expect(() => parseCsv('"open', ',')).toThrow('a quoted field is not closed');
  });
});
