import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ReceivedRequest } from '../sigv4.js';
import { S3Error } from './errors.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const UNSIGNED = 'UNSIGNED-PAYLOAD';
/** What @aws-sdk/client-s3 sends for a stream body in Node: aws-chunked, a checksum in a trailer. */
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** An x-amz-checksum-<algorithm> the client sent, in a header or an aws-chunked trailer. */
export interface Checksum {
  algorithm: string;
  value: string;
}

export interface Payload {
  body: Buffer;
  checksum?: Checksum;
}

const claimedHash = (headers: ReceivedRequest['headers']): string | undefined => {
  const value = headers['x-amz-content-sha256'];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * S3's check of x-amz-content-sha256, before the signature: SigV4 requires the header, and a hex
 * hash must be the body's (other values say the payload is unsigned or chunked; see readPayload).
 */
export function checkContentSha256({ headers, body }: ReceivedRequest): void {
  const claimed = claimedHash(headers);
  if (claimed === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  if (HEX_SHA256.test(claimed)) {
    const computed = createHash('sha256').update(body).digest('hex');
    if (computed !== claimed) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
        { ClientComputedContentSHA256: claimed, S3ComputedContentSHA256: computed },
      );
    }
    return;
  }
  if (claimed !== UNSIGNED && claimed !== STREAMING_UNSIGNED_TRAILER) {
    // Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD...) would need each chunk's signature checked.
    throw new S3Error(
      'NotImplemented',
      `The local stack's S3 does not implement x-amz-content-sha256: ${claimed}`,
      501,
    );
  }
}

/** The object's bytes: the body, or the aws-chunked body decoded; every checksum sent is verified. */
export function readPayload(headers: ReceivedRequest['headers'], body: Buffer): Payload {
  const headerChecksum = checksumHeader(headers);
  const payload =
    claimedHash(headers) === STREAMING_UNSIGNED_TRAILER
      ? decodeChunked(body, headers)
      : { body, ...(headerChecksum ? { checksum: headerChecksum } : {}) };
  if (payload.checksum) verifyChecksum(payload.body, payload.checksum);
  const md5 = headers['content-md5'];
  if (typeof md5 === 'string' && createHash('md5').update(payload.body).digest('base64') !== md5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  return payload;
}

function checksumHeader(headers: ReceivedRequest['headers']): Checksum | undefined {
  for (const [name, value] of Object.entries(headers)) {
    const algorithm = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name)?.[1];
    if (algorithm !== undefined && typeof value === 'string') return { algorithm, value };
  }
  return undefined;
}

/** The checksums the emulator can compute; others (crc32c, crc64nvme) are kept unverified. */
function computed(body: Buffer, algorithm: string): string | undefined {
  if (algorithm === 'crc32') {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(body));
    return out.toString('base64');
  }
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    return createHash(algorithm).update(body).digest('base64');
  }
  return undefined;
}

function verifyChecksum(body: Buffer, { algorithm, value }: Checksum): void {
  const expected = computed(body, algorithm);
  if (expected !== undefined && expected !== value) {
    throw new S3Error(
      'BadDigest',
      `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
    );
  }
}

const incomplete = (): S3Error =>
  new S3Error('IncompleteBody', 'The request body terminated unexpectedly', 400);

/** `<hex size>[;ext]\r\n<data>\r\n` … `0\r\n<trailer>:<value>\r\n\r\n`. */
function decodeChunked(body: Buffer, headers: ReceivedRequest['headers']): Payload {
  const chunks: Buffer[] = [];
  let offset = 0;
  const line = (): string => {
    const end = body.indexOf('\r\n', offset);
    if (end < 0) throw incomplete();
    const text = body.subarray(offset, end).toString('latin1');
    offset = end + 2;
    return text;
  };
  for (;;) {
    const size = Number.parseInt(line().split(';')[0] ?? '', 16);
    if (!Number.isInteger(size) || size < 0) throw incomplete();
    if (size === 0) break;
    if (offset + size + 2 > body.length) throw incomplete();
    chunks.push(body.subarray(offset, offset + size));
    offset += size;
    if (line() !== '') throw incomplete();
  }
  const trailers = new Map<string, string>();
  for (let text = line(); text !== ''; text = offset < body.length ? line() : '') {
    const colon = text.indexOf(':');
    if (colon > 0) trailers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
  }
  const decoded = Buffer.concat(chunks);
  const declared = headers['x-amz-decoded-content-length'];
  if (declared !== undefined && Number(declared) !== decoded.length) throw incomplete();
  const trailerName = String(headers['x-amz-trailer'] ?? '').toLowerCase();
  const algorithm = /^x-amz-checksum-(\w+)$/.exec(trailerName)?.[1];
  const value = trailers.get(trailerName);
  if (trailerName !== '' && (algorithm === undefined || value === undefined)) {
    throw new S3Error(
      'MalformedTrailerError',
      'The request contained trailing data that was not well-formed.',
    );
  }
  return { body: decoded, ...(algorithm && value ? { checksum: { algorithm, value } } : {}) };
}
