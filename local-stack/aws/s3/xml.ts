import { XMLBuilder } from 'fast-xml-parser';
import type { AwsServiceError } from '../errors.js';
import type { Reply } from '../protocol.js';
import type { XmlObject } from '../xml.js';
import { S3Error } from './errors.js';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });

/** The headers every S3 answer carries: x-amz-request-id, and x-amz-id-2 (the "host id"). */
export const s3Headers = (requestId: string): Record<string, string> => ({
  'x-amz-request-id': requestId,
  'x-amz-id-2': Buffer.from(requestId).toString('base64'),
});

export function s3XmlReply(root: string, content: XmlObject, requestId: string): Reply {
  return {
    status: 200,
    headers: { ...s3Headers(requestId), 'content-type': 'application/xml' },
    body: DECLARATION + builder.build({ [root]: { '@_xmlns': S3_NAMESPACE, ...content } }),
  };
}

/** `<Error><Code>…`, without a namespace as S3 sends it; HEAD answers carry no body at all. */
export function s3ErrorReply(method: string, error: AwsServiceError, requestId: string): Reply {
  const details = error instanceof S3Error ? error.details : {};
  const headers = s3Headers(requestId);
  if (method === 'HEAD') return { status: error.status, headers, body: '' };
  const body = builder.build({
    Error: {
      Code: error.code,
      Message: error.message,
      ...details,
      RequestId: requestId,
      HostId: headers['x-amz-id-2'],
    },
  });
  return {
    status: error.status,
    headers: { ...headers, 'content-type': 'application/xml' },
    body: DECLARATION + body,
  };
}
