import { XMLBuilder } from 'fast-xml-parser';
import type { AwsServiceError } from './errors.js';

export type XmlValue = string | number | boolean | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue | undefined;
}

export type QueryService = 'iam' | 'sts';

const XML_NAMESPACES: Record<QueryService, string> = {
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
};

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });

/** The query protocol wraps lists in <member> elements. */
export const xmlList = (items: XmlObject[]): XmlObject => ({ member: items });

/** ISO 8601 without milliseconds, as IAM and STS print timestamps. */
export const xmlDate = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `<XResponse><XResult>…</XResult><ResponseMetadata>…` (no Result element for empty outputs). */
export function queryResponseXml(
  service: QueryService,
  action: string,
  result: XmlObject | undefined,
  requestId: string,
): string {
  const body: XmlObject = { '@_xmlns': XML_NAMESPACES[service] };
  if (result !== undefined) body[`${action}Result`] = result;
  body.ResponseMetadata = { RequestId: requestId };
  return builder.build({ [`${action}Response`]: body });
}

export function queryErrorXml(service: QueryService, error: AwsServiceError, requestId: string): string {
  return builder.build({
    ErrorResponse: {
      '@_xmlns': XML_NAMESPACES[service],
      Error: { Type: error.fault, Code: error.code, Message: error.message },
      RequestId: requestId,
    },
  });
}
