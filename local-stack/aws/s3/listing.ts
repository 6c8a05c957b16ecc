import type { XmlObject } from '../xml.js';
import type { Bucket } from './buckets.js';
import { invalidArgument } from './errors.js';

const MAX_KEYS = 1000;

/** S3 lists keys in UTF-8 binary order, which differs from JavaScript's UTF-16 order past U+FFFF. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

// The token is opaque to clients; it names the last key or common prefix returned.
const encodeToken = (last: string): string => Buffer.from(last, 'utf8').toString('base64url');

function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || encodeToken(decoded) !== token) {
    throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  }
  return decoded;
}

function maxKeys(query: URLSearchParams): number {
  const given = query.get('max-keys');
  if (given === null) return MAX_KEYS;
  const value = Number(given);
  if (!/^\d+$/.test(given) || !Number.isSafeInteger(value)) {
    throw invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', given);
  }
  return Math.min(value, MAX_KEYS);
}

/** ListObjectsV2's result: one page of keys (and common prefixes, with a delimiter) after the token. */
export function listObjectsV2(bucket: Bucket, query: URLSearchParams): XmlObject {
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? '';
  const limit = maxKeys(query);
  const url = query.get('encoding-type') === 'url';
  const shown = (text: string): string => (url ? encodeURIComponent(text).replace(/%2F/g, '/') : text);
  const after = token === null ? startAfter : decodeToken(token);

  const contents: XmlObject[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  let truncated = false;
  const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort(byteOrder);
  for (const key of keys) {
    if (byteOrder(key, after) <= 0) continue;
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const common = cut < 0 ? undefined : key.slice(0, cut + delimiter.length);
    // A prefix already returned (on this page or, through the token, on an earlier one).
    if (common !== undefined && (common === last || after.startsWith(common))) continue;
    if (contents.length + commonPrefixes.length >= limit) {
      // MaxKeys 0 asks for no page at all, not for a first empty one.
      truncated = limit > 0;
      break;
    }
    last = common ?? key;
    if (common !== undefined) {
      commonPrefixes.push(common);
      continue;
    }
    const object = bucket.objects.get(key);
    if (!object) continue;
    contents.push({
      Key: shown(key),
      LastModified: object.lastModified.toISOString(),
      ETag: object.etag,
      ...(object.checksum ? { ChecksumAlgorithm: object.checksum.algorithm.toUpperCase() } : {}),
      Size: object.body.length,
      StorageClass: 'STANDARD',
    });
  }
  return {
    Name: bucket.name,
    Prefix: shown(prefix),
    ...(delimiter === '' ? {} : { Delimiter: shown(delimiter) }),
    MaxKeys: limit,
    ...(url ? { EncodingType: 'url' } : {}),
    KeyCount: contents.length + commonPrefixes.length,
    IsTruncated: truncated,
    ...(token === null ? {} : { ContinuationToken: token }),
    ...(truncated && last !== undefined ? { NextContinuationToken: encodeToken(last) } : {}),
    ...(query.has('start-after') ? { StartAfter: shown(startAfter) } : {}),
    ...(contents.length > 0 ? { Contents: contents } : {}),
    ...(commonPrefixes.length > 0
      ? { CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: shown(p) })) }
      : {}),
  };
}
