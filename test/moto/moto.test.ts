import { describe } from 'vitest';
import { findMotoServer } from '../../local-stack/moto.js';
import { authorizationCases } from './authorization.js';
import { cliCase } from './cli.js';
import { differenceCases } from './differences.js';
import { rotationCases } from './plain.js';
import { useMoto, useMotoServer } from './support.js';

// The cross-check with an AWS emulator nobody here wrote: moto (Python), where it is installed.
const MOTO_SERVER = findMotoServer();
const SKIPPED =
  'moto cross-check skipped: moto_server is not on the PATH (pip install "moto[server]" to run it)';
if (!MOTO_SERVER) console.info(SKIPPED);

describe.skipIf(!MOTO_SERVER)(MOTO_SERVER ? `moto_server (${MOTO_SERVER})` : SKIPPED, () => {
  const moto = useMotoServer(MOTO_SERVER ?? 'moto_server');

  describe("the handlers' calls on moto and on our emulator", () => {
    differenceCases(moto);
  });

  describe('rotation on moto, authorization off (KV v2)', () => {
    rotationCases(useMoto(moto), 'plain');
  });

  describe('npm start -- --aws-endpoint <moto>', () => {
    cliCase(moto);
  });

  // KV v1: the AWS calls of a KV v2 rotation and more (createKey seals the previous secret,
  // restoreVault opens it), so every action of every function's policy is used.
  describe("rotation on moto, moto's authorization on, each function with its own role (KV v1)", () => {
    const ctx = useMoto(moto, { authorization: true, vault: { kvVersion: 1 } });
    rotationCases(ctx, 'authorized');
    authorizationCases(ctx);
  });
});
