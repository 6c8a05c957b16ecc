import type { Json } from '../../lambda.js';
import { parseCsv } from './csv.js';
import type { ReaderSpec } from './definition.js';
import { ItemReaderFailed } from './errors.js';
import { S3CallError, type S3Port } from './s3-port.js';

/** One item and the object it came from, as `$$.Map.Item.Source` names it. */
export interface ReadItem {
  value: Json;
  source: string;
}

/** An object an ItemReader reads. */
interface ObjectRef {
  bucket: string;
  key: string;
}

const MANIFEST_LINE = /^s3:\/\/([^/]+)\/(.+)$/;

const isObject = (value: Json | undefined): value is Record<string, Json> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The object ItemReader's Parameters name (after the runner resolved their paths). */
function objectOf(parameters: Json | undefined): ObjectRef {
  if (!isObject(parameters))
    throw new ItemReaderFailed('ItemReader Parameters must be an object with Bucket and Key');
  const { Bucket, Key, ...rest } = parameters;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    // VersionId and the like: the local S3 keeps no versions, and an option that cannot apply is refused.
    throw new ItemReaderFailed(
      `ItemReader Parameters ${unknown.join(', ')} are not emulated (Bucket and Key are)`,
    );
  }
  if (typeof Bucket !== 'string' || Bucket === '' || typeof Key !== 'string' || Key === '') {
    throw new ItemReaderFailed('ItemReader Parameters Bucket and Key must be non-empty strings');
  }
  return { bucket: Bucket, key: Key };
}

/** The MaxItems the Parameters resolved, if any: 0 (or none) reads every item. */
function limitOf(maxItems: Json | undefined): number {
  if (maxItems === undefined) return Infinity;
  if (typeof maxItems !== 'number' || !Number.isInteger(maxItems) || maxItems < 0) {
    throw new ItemReaderFailed('field MaxItems must be positive');
  }
  return maxItems === 0 ? Infinity : maxItems;
}

async function fetchText(s3: S3Port, roleArn: string, { bucket, key }: ObjectRef): Promise<string> {
  try {
    return (await s3.getObject(roleArn, bucket, key)).toString('utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    if (error instanceof S3CallError) {
      throw new ItemReaderFailed(`Failed to read s3://${bucket}/${key}: ${error.describe()}`);
    }
    throw error;
  }
}

function parseJson(text: string, where: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new ItemReaderFailed(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The items of one object, as ReaderConfig says to read them. */
function itemsOf(text: string, spec: ReaderSpec, object: ObjectRef): Json[] {
  const where = `s3://${object.bucket}/${object.key}`;
  if (spec.inputType === 'JSON') {
    const parsed = parseJson(text, where);
    if (!Array.isArray(parsed)) throw new ItemReaderFailed('Attempting to map over non-iterable node.');
    return parsed;
  }
  if (spec.inputType === 'JSONL') {
    return text
      .split(/\r?\n/)
      .flatMap((line, index) => (line.trim() === '' ? [] : [parseJson(line, `${where} line ${index + 1}`)]));
  }
  const csv = spec.csv ?? { headers: 'FIRST_ROW' as const, delimiter: ',' };
  let rows: string[][];
  try {
    rows = parseCsv(text, csv.delimiter);
  } catch (error) {
    throw new ItemReaderFailed(`${where} is not valid CSV: ${(error as Error).message}`);
  }
  const headers = csv.headers === 'FIRST_ROW' ? (rows.shift() ?? []) : csv.headers;
  if (new Set(headers).size !== headers.length)
    throw new ItemReaderFailed('CSV headers cannot contain duplicates.');
  // Missing trailing fields read as empty strings; fields past the last header are dropped.
  return rows.map((row) => Object.fromEntries(headers.map((header, index) => [header, row[index] ?? ''])));
}

/**
 * Reads every item before any child starts (a reader failure then starts nothing), up to MaxItems:
 * the object the Parameters name, or for an ATHENA_DATA manifest each object it lists, in order.
 */
export async function readItems(
  spec: ReaderSpec,
  parameters: Json | undefined,
  maxItems: Json | undefined,
  s3: S3Port | undefined,
  roleArn: string,
): Promise<ReadItem[]> {
  const object = objectOf(parameters);
  const limit = limitOf(maxItems);
  if (!s3) throw new ItemReaderFailed('the local Step Functions is not connected to an S3 endpoint');
  const sources: ObjectRef[] = [object];
  if (spec.athenaManifest) {
    sources.length = 0;
    for (const line of (await fetchText(s3, roleArn, object)).split(/\r?\n/)) {
      if (line.trim() === '') continue;
      const match = MANIFEST_LINE.exec(line.trim());
      if (!match)
        throw new ItemReaderFailed(
          `the manifest s3://${object.bucket}/${object.key} lists '${line}', not an s3:// URI`,
        );
      sources.push({ bucket: match[1] ?? '', key: match[2] ?? '' });
    }
  }
  const items: ReadItem[] = [];
  for (const source of sources) {
    if (items.length >= limit) break;
    const text = await fetchText(s3, roleArn, source);
    const uri = `S3://${source.bucket}/${source.key}`;
    for (const value of itemsOf(text, spec, source)) {
      if (items.length >= limit) break;
      items.push({ value, source: uri });
    }
  }
  return items;
}
