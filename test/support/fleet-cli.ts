import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocalStack } from '../../local-stack/stack.js';

const exec = promisify(execFile);

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `iam-key-rotator <args>` against the stack's fleet machine, as the admin, with only these variables. */
export async function runFleetCli(
  stack: LocalStack,
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  const { accessKeyId, secretAccessKey } = stack.aws.adminCredentials;
  try {
    const { stdout, stderr } = await exec(process.execPath, ['bin/iam-key-rotator.mjs', ...args], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: stack.aws.region,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_ENDPOINT_URL: stack.aws.endpoint,
        ROTATOR_FLEET_STATE_MACHINE_ARN: stack.fleetStateMachineArn,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...extra,
      },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as CliRun;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
