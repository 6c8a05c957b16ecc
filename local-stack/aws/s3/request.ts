import type { AwsServiceError } from '../errors.js';
import { type ReceivedRequest, rawPath } from '../sigv4.js';
import { S3Error } from './errors.js';

/** The S3 operations the emulator serves (the ones the fleet's Distributed Map and functions use). */
export const S3_ACTIONS = [
  'CreateBucket',
  'HeadBucket',
  'DeleteBucket',
  'ListObjectsV2',
  'PutObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
] as const;
export type S3Action = (typeof S3_ACTIONS)[number];

/** A REST-XML request, addressed path-style (`/bucket/key`) or virtual-hosted (`bucket.localhost`). */
export interface S3Request {
  action: S3Action;
  method: string;
  bucket: string;
  /** Absent for bucket operations. */
  key?: string;
  query: URLSearchParams;
  headers: ReceivedRequest['headers'];
  /** As received: aws-chunked bodies are decoded by the operation (see payload.ts). */
  body: Buffer;
}

// Query parameters that select a sub-resource (?policy, ?uploads, ...) name operations not emulated;
// these only shape the emulated ones.
const PLAIN_PARAMS = new Set([
  'x-id',
  'list-type',
  'prefix',
  'continuation-token',
  'max-keys',
  'start-after',
  'delimiter',
  'encoding-type',
  'fetch-owner',
  'response-content-type',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-cache-control',
  'response-expires',
]);

const BUCKET_ACTIONS: Partial<Record<string, S3Action>> = {
  PUT: 'CreateBucket',
  HEAD: 'HeadBucket',
  DELETE: 'DeleteBucket',
};
const OBJECT_ACTIONS: Partial<Record<string, S3Action>> = {
  PUT: 'PutObject',
  GET: 'GetObject',
  HEAD: 'HeadObject',
  DELETE: 'DeleteObject',
};

// A Host such as `bucket.localhost:4566` or `bucket.127.0.0.1:4566`: the client did not set forcePathStyle.
const VIRTUAL_HOST = /^(.+)\.(localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(:\d+)?$/;

const notImplemented = (what: string): AwsServiceError =>
  new S3Error('NotImplemented', `The local stack's S3 does not implement ${what}.`, 501);

/** Names the operation from the method, the path and the query, as S3's REST API does. */
export function readS3Request(request: ReceivedRequest): S3Request {
  const url = new URL(request.url, 'http://localhost');
  const query = url.searchParams;
  // Keys are percent-encoded segments of the raw path; `/`, `.` and `..` inside a key stay literal.
  let path = rawPath(request.url).slice(1);
  const virtual = VIRTUAL_HOST.exec(String(request.headers.host ?? ''))?.[1];
  if (virtual !== undefined) path = `${virtual}/${path}`;
  const slash = path.indexOf('/');
  const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
  const rawKey = slash < 0 ? '' : path.slice(slash + 1);
  const key = rawKey === '' ? undefined : decodeURIComponent(rawKey);
  if (bucket === '') throw notImplemented(`${request.method} / (ListBuckets)`);
  const subresource = [...query.keys()].find((name) => !PLAIN_PARAMS.has(name));
  if (subresource !== undefined) throw notImplemented(`the ?${subresource} sub-resource`);
  let action: S3Action | undefined;
  if (key === undefined) {
    action = request.method === 'GET' ? listAction(query) : BUCKET_ACTIONS[request.method];
  } else {
    if (request.headers['x-amz-copy-source'] !== undefined) throw notImplemented('CopyObject');
    action = OBJECT_ACTIONS[request.method];
  }
  if (action === undefined) {
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  }
  return {
    action,
    method: request.method,
    bucket,
    ...(key === undefined ? {} : { key }),
    query,
    headers: request.headers,
    body: request.body,
  };
}

function listAction(query: URLSearchParams): S3Action {
  if (query.get('list-type') !== '2') throw notImplemented('ListObjects (version 1): use ListObjectsV2');
  return 'ListObjectsV2';
}

/** A request header as one string, if present. */
export function header(request: S3Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
