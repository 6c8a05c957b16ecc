import { randomBytes } from 'node:crypto';
import type { Json } from '../../lambda.js';
import { StatesRuntime } from './errors.js';

/** `$$.Map.Item` as a child's ItemSelector sees it. */
export interface MapItem {
  Index: number;
  Value: Json;
  /** `STATE_DATA` for items of the state input, the object's `S3://bucket/key` for items read from S3. */
  Source: string;
}

type Segment = string | number;

/** A `$$.Map.Item...` reference of the ItemSelector: its field path below `$$.Map.Item`. */
interface ItemReference {
  path: string;
  field: string;
  segments: Segment[];
}

const ITEM_PATH =
  /^\$\$\.Map\.Item(?:\.(Index|Value|Source)((?:\.[^.[\]]+|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*))?$/;
const SEGMENT = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;

/**
 * An ItemSelector split in two: what does not depend on the item (static values, `$` paths of
 * the Map's input, `$$.Execution...`) stays a payload template the local runner resolves once,
 * in the Map state's own Parameters; each `$$.Map.Item...` field becomes a placeholder filled per
 * item. Placeholders keep the template's key order, which the children's input shows.
 */
export class ItemSelector {
  /** The template for the runner, `$$.Map.Item` fields replaced by placeholders. */
  readonly template: Json;
  private readonly references = new Map<string, ItemReference>();
  private readonly marker = `\u0000item-${randomBytes(6).toString('hex')}-`;

  /** Throws an Error naming the field for a `$$.Map` use this emulator cannot evaluate per item. */
  constructor(selector: Json) {
    this.template = this.compile(selector);
  }

  private compile(node: Json): Json {
    if (Array.isArray(node)) return node.map((entry) => this.compile(entry));
    if (node === null || typeof node !== 'object') return node;
    const compiled: Record<string, Json> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith('.$') && typeof value === 'string' && value.includes('$$.Map')) {
        const match = ITEM_PATH.exec(value);
        if (!match) {
          throw new Error(
            `field '${key}': '${value}' is not a path of names and indexes below $$.Map.Item (the local Step Functions evaluates no other use of $$.Map)`,
          );
        }
        const placeholder = `${this.marker}${this.references.size}`;
        const [, field = '', rest = ''] = match;
        this.references.set(placeholder, { path: value, field, segments: segments(rest) });
        compiled[key.slice(0, -2)] = placeholder;
        continue;
      }
      compiled[key] = this.compile(value);
    }
    return compiled;
  }

  /** The child's input: the resolved template with this item's values in place. */
  select(resolved: Json, item: MapItem): Json {
    if (this.references.size === 0) return resolved;
    const fill = (node: Json): Json => {
      if (typeof node === 'string' && node.startsWith(this.marker)) {
        const reference = this.references.get(node);
        return reference ? resolve(reference, item) : node;
      }
      if (Array.isArray(node)) return node.map(fill);
      if (node === null || typeof node !== 'object') return node;
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, fill(value)]));
    };
    return fill(resolved);
  }
}

function segments(rest: string): Segment[] {
  return [...rest.matchAll(SEGMENT)].map(([, name, index, single, double]) =>
    index !== undefined ? Number(index) : (name ?? single ?? double ?? ''),
  );
}

function resolve(reference: ItemReference, item: MapItem): Json {
  const root: Record<string, Json> = { Index: item.Index, Value: item.Value, Source: item.Source };
  let value: Json | undefined = reference.field === '' ? root : root[reference.field];
  for (const segment of reference.segments) {
    if (value === null || typeof value !== 'object') {
      value = undefined;
      break;
    }
    value = Array.isArray(value)
      ? typeof segment === 'number'
        ? value[segment]
        : undefined
      : (value as Record<string, Json>)[String(segment)];
  }
  if (value === undefined) {
    throw new StatesRuntime(
      `The JSONPath '${reference.path}' could not be found in the context object of item ${item.Index}`,
    );
  }
  return value;
}
