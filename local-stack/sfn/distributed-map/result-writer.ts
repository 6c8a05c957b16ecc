import type { Json } from '../../lambda.js';
import type { Execution } from '../executions.js';
import { parseMapRunArn } from '../names.js';
import { ResultWriterFailed } from './errors.js';
import { S3CallError, type S3Port } from './s3-port.js';

/** Where the results went: the Map state's output names the manifest. */
export interface ResultWriterDetails {
  Bucket: string;
  Key: string;
}

const isObject = (value: Json | undefined): value is Record<string, Json> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function destination(parameters: Json | undefined): { bucket: string; prefix: string } {
  if (!isObject(parameters))
    throw new ResultWriterFailed('ResultWriter Parameters must be an object with Bucket');
  const { Bucket, Prefix = '', ...rest } = parameters;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ResultWriterFailed(
      `ResultWriter Parameters ${unknown.join(', ')} are not emulated (Bucket and Prefix are)`,
    );
  }
  if (typeof Bucket !== 'string' || Bucket === '' || typeof Prefix !== 'string') {
    throw new ResultWriterFailed(
      'ResultWriter Parameters Bucket must be a non-empty string and Prefix a string',
    );
  }
  return { bucket: Bucket, prefix: Prefix === '' || Prefix.endsWith('/') ? Prefix : `${Prefix}/` };
}

/** One child workflow as Step Functions writes it in SUCCEEDED_n.json / FAILED_n.json (keys in AWS's order). */
function entry(child: Execution): Record<string, Json> {
  const succeeded = child.status === 'SUCCEEDED';
  return {
    ...(child.cause !== undefined ? { Cause: child.cause } : {}),
    ...(child.error !== undefined ? { Error: child.error } : {}),
    ExecutionArn: child.arn,
    Input: child.input,
    InputDetails: { Included: true },
    Name: child.name,
    ...(child.output !== undefined ? { Output: child.output, OutputDetails: { Included: true } } : {}),
    RedriveCount: 0,
    RedriveStatus: succeeded ? 'NOT_REDRIVABLE' : 'REDRIVABLE_BY_MAP_RUN',
    ...(succeeded ? { RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' } : {}),
    StartDate: child.startDate.toISOString(),
    StateMachineArn: child.machine.arn,
    Status: child.status,
    ...(child.stopDate ? { StopDate: child.stopDate.toISOString() } : {}),
  };
}

/**
 * Writes the Map Run's results as Step Functions does: `<Prefix>/<map run id>/SUCCEEDED_0.json`
 * and `FAILED_0.json` (failed, timed out and aborted children; each file only when it has
 * entries), then `manifest.json` naming them, written last so a reader never finds a manifest
 * without its files. Returns how many results were written and where the manifest is.
 */
export async function writeResults(
  s3: S3Port | undefined,
  roleArn: string,
  parameters: Json | undefined,
  mapRunArn: string,
  children: Execution[],
): Promise<{ details: ResultWriterDetails; written: number }> {
  const { bucket, prefix } = destination(parameters);
  if (!s3) throw new ResultWriterFailed('the local Step Functions is not connected to an S3 endpoint');
  const base = `${prefix}${parseMapRunArn(mapRunArn).id}/`;
  const put = async (key: string, body: string): Promise<{ Key: string; Size: number }> => {
    try {
      await s3.putObject(roleArn, bucket, key, body);
    } catch (error) {
      if (error instanceof S3CallError) {
        throw new ResultWriterFailed(`Failed to write s3://${bucket}/${key}: ${error.describe()}`);
      }
      throw error;
    }
    return { Key: key, Size: Buffer.byteLength(body) };
  };
  const succeeded = children.filter((child) => child.status === 'SUCCEEDED').map(entry);
  const failed = children.filter((child) => child.status !== 'SUCCEEDED').map(entry);
  const files = {
    FAILED: failed.length > 0 ? [await put(`${base}FAILED_0.json`, JSON.stringify(failed))] : [],
    PENDING: [],
    SUCCEEDED: succeeded.length > 0 ? [await put(`${base}SUCCEEDED_0.json`, JSON.stringify(succeeded))] : [],
  };
  const manifest = { DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files };
  const { Key } = await put(`${base}manifest.json`, JSON.stringify(manifest));
  return { details: { Bucket: bucket, Key }, written: succeeded.length + failed.length };
}
