import type { OutgoingHttpHeaders } from 'node:http';
import { AwsServiceError } from './errors.js';
import { readS3Request, type S3Request } from './s3/request.js';
import { s3ErrorReply } from './s3/xml.js';
import type { ReceivedRequest } from './sigv4.js';
import { queryErrorXml, queryResponseXml, type QueryService, type XmlObject } from './xml.js';

/**
 * How a request reaches a service. The installed SDK v3 clients speak awsQuery to IAM and STS
 * (form-encoded POST, XML answers) and awsJson1_1 to KMS, Secrets Manager and SSM
 * (X-Amz-Target: TrentService.<Action>, secretsmanager.<Action>, AmazonSSM.<Action>), and awsJson1_0
 * to Step Functions (AWSStepFunctions.<Action>, signed for `states`), and REST-XML to S3 (the
 * operation is the method, path and query; recognised by its SigV4 scope `s3`).
 */
export type JsonService = 'kms' | 'secretsmanager' | 'ssm' | 'sfn';

export type Route =
  | { protocol: 'query'; service: QueryService }
  | { protocol: 'json'; service: JsonService }
  /** The method decides the error body: S3 answers a failed HEAD without one. */
  | { protocol: 'rest-xml'; service: 's3'; method: string };

export type Call =
  | { protocol: 'query'; service: QueryService; action: string; params: URLSearchParams }
  | { protocol: 'json'; service: JsonService; action: string; input: unknown }
  | { protocol: 'rest-xml'; service: 's3'; action: string; request: S3Request };

export interface Reply {
  status: number;
  /** A content-length here is sent as is (HEAD answers give the object's, without its body). */
  headers: OutgoingHttpHeaders;
  body: string | Buffer;
}

export const QUERY_VERSIONS: Record<QueryService, string> = { iam: '2010-05-08', sts: '2011-06-15' };
/** The X-Amz-Target prefix of each JSON service (the SDK's `serviceTarget` plus a dot). */
const JSON_TARGET_PREFIXES: Record<JsonService, string> = {
  kms: 'TrentService.',
  secretsmanager: 'secretsmanager.',
  ssm: 'AmazonSSM.',
  sfn: 'AWSStepFunctions.',
};
/** The SigV4 signing name of each service, where it is not the service's own name. */
export const SIGNING_NAMES: Partial<Record<string, string>> = { sfn: 'states' };
const JSON_SERVICES = Object.keys(JSON_TARGET_PREFIXES) as JsonService[];

export const isJsonService = (service: string): service is JsonService =>
  (JSON_SERVICES as string[]).includes(service);
const jsonContentType = (service: JsonService): string =>
  `application/x-amz-json-${service === 'sfn' ? '1.0' : '1.1'}`;

/** The service named by the SigV4 credential scope, if the request is signed. */
export const signedFor = (headers: ReceivedRequest['headers']): string | undefined =>
  /Credential=[^/,]*\/[^/,]*\/[^/,]*\/([^/,]*)\//.exec(headers.authorization ?? '')?.[1];

/**
 * Picks the service: X-Amz-Target for JSON, else the SigV4 scope (S3 also by its
 * x-amz-content-sha256 header when unsigned), else the query Version.
 */
export function detectRoute(request: ReceivedRequest): Route {
  const scope = signedFor(request.headers);
  if (scope === 's3' || (scope === undefined && request.headers['x-amz-content-sha256'] !== undefined)) {
    return { protocol: 'rest-xml', service: 's3', method: request.method };
  }
  const target = request.headers['x-amz-target'];
  if (target !== undefined) {
    const byTarget = JSON_SERVICES.find((service) =>
      String(target).startsWith(JSON_TARGET_PREFIXES[service]),
    );
    // An unknown target is answered (UnknownOperationException) by the service the request was signed for.
    const service = byTarget ?? (scope !== undefined && isJsonService(scope) ? scope : 'kms');
    return { protocol: 'json', service };
  }
  if (scope === 'iam' || scope === 'sts') return { protocol: 'query', service: scope };
  const version = queryParams(request).get('Version');
  return { protocol: 'query', service: version === QUERY_VERSIONS.sts ? 'sts' : 'iam' };
}

export function readCall(request: ReceivedRequest, route: Route): Call {
  if (route.protocol === 'rest-xml') {
    const s3Request = readS3Request(request);
    return { protocol: 'rest-xml', service: 's3', action: s3Request.action, request: s3Request };
  }
  if (route.protocol === 'json') {
    const target = String(request.headers['x-amz-target']);
    const prefix = JSON_TARGET_PREFIXES[route.service];
    if (!target.startsWith(prefix)) {
      throw new AwsServiceError('UnknownOperationException', '', 400);
    }
    return { ...route, action: target.slice(prefix.length), input: parseJson(request.body) };
  }
  const params = queryParams(request);
  const action = params.get('Action');
  if (!action) throw new AwsServiceError('MissingAction', 'Missing Action', 400);
  return { ...route, action, params };
}

// awsQuery accepts parameters in a form body (what the SDK sends) or in the URL of a GET.
function queryParams({ url, headers, body }: ReceivedRequest): URLSearchParams {
  const params = new URL(url, 'http://localhost').searchParams;
  if (String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.append(key, value);
  }
  return params;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsServiceError('SerializationException', 'The request body is not valid JSON.', 400);
  }
}

export function queryReply(
  service: QueryService,
  action: string,
  result: XmlObject | undefined,
  requestId: string,
): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: queryResponseXml(service, action, result, requestId),
  };
}

export function jsonReply(service: JsonService, output: Record<string, unknown>, requestId: string): Reply {
  return {
    status: 200,
    headers: { 'content-type': jsonContentType(service), 'x-amzn-requestid': requestId },
    body: JSON.stringify(output),
  };
}

/** The service's own error body: query XML, S3's <Error>, or JSON with `__type` (which the SDK reads first). */
export function errorReply(route: Route, error: AwsServiceError, requestId: string): Reply {
  if (route.protocol === 'rest-xml') return s3ErrorReply(route.method, error, requestId);
  if (route.protocol === 'query') {
    return {
      status: error.status,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: queryErrorXml(route.service, error, requestId),
    };
  }
  const body: Record<string, string> = { __type: error.code };
  // Some errors carry no message (KMS InvalidCiphertextException, SSM ParameterNotFound).
  if (error.message) body.message = error.message;
  return {
    status: error.status,
    headers: { 'content-type': jsonContentType(route.service), 'x-amzn-requestid': requestId },
    body: JSON.stringify(body),
  };
}
