// The windows' guidance (consumers' refresh + clock skew <= in-use margin < minimum grace <= grace),
// checked on the real sources: serverless.yml's defaults, the functions' configuration and the
// package-time check of deploy/template.cjs, and the README and docs/consumers.md that state it.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resources } from '../../deploy/template.cjs';
import { loadConfig } from '../../functions/commons/config.js';
import {
  CLOCK_SKEW_SECONDS,
  DEFAULT_IN_USE_MARGIN_SECONDS,
  DEFAULT_REFRESH_SECONDS,
} from '../../functions/commons/credential-refresh.js';
import { templateContext } from './template.js';

async function defaults() {
  const serverless = parse(await readFile('serverless.yml', 'utf8')) as {
    params: { default: Record<string, unknown> };
  };
  const { graceSeconds, minGraceSeconds, inUseMarginSeconds } = serverless.params.default;
  return {
    graceSeconds: Number(graceSeconds),
    minGraceSeconds: Number(minGraceSeconds),
    inUseMarginSeconds: Number(inUseMarginSeconds),
  };
}

const packaged = (params: Record<string, string>) => resources(templateContext(params));

describe('the grace and in-use margin guidance', () => {
  it('orders the defaults: refresh + skew <= margin < minGraceSeconds <= graceSeconds', async () => {
    const { graceSeconds, minGraceSeconds, inUseMarginSeconds } = await defaults();
    expect(graceSeconds).toBeGreaterThanOrEqual(minGraceSeconds);
    expect(minGraceSeconds).toBeGreaterThan(inUseMarginSeconds);
    expect(inUseMarginSeconds).toBeGreaterThanOrEqual(DEFAULT_REFRESH_SECONDS + CLOCK_SKEW_SECONDS);
  });

  it('defaults the margin to DEFAULT_IN_USE_MARGIN_SECONDS in serverless.yml and in the functions', async () => {
    expect((await defaults()).inUseMarginSeconds).toBe(DEFAULT_IN_USE_MARGIN_SECONDS);
    const config = loadConfig({
      AWS_REGION: 'eu-west-1',
      ROTATOR_KMS_KEY_ID: 'alias/iam-key-rotator',
      ROTATOR_PIN_KEY_ID: 'alias/iam-key-rotator-pin',
      ROTATOR_CLAIM_KEY_ID: 'alias/iam-key-rotator-claim',
      VAULT_ADDR: 'https://vault.example.com:8200',
    });
    expect(config.inUse.marginSeconds).toBe(DEFAULT_IN_USE_MARGIN_SECONDS);
  });

  it('packages the defaults, and a grace just above the margin', async () => {
    await expect(packaged({})).resolves.toHaveProperty('Resources');
    await expect(
      packaged({ inUseMarginSeconds: '0', minGraceSeconds: '1', graceSeconds: '1' }),
    ).resolves.toHaveProperty('Resources');
  });

  it.each([
    [{ minGraceSeconds: '360' }, 'minGraceSeconds 360 is not longer than inUseMarginSeconds 360'],
    [{ minGraceSeconds: '300' }, 'minGraceSeconds 300 is not longer than inUseMarginSeconds 360'],
    [
      { inUseMarginSeconds: '900', minGraceSeconds: '600' },
      'minGraceSeconds 600 is not longer than inUseMarginSeconds 900',
    ],
    [
      { inUseMarginSeconds: '1200', minGraceSeconds: '1800', graceSeconds: '1200' },
      'graceSeconds 1200 is not longer than inUseMarginSeconds 1200',
    ],
  ])('refuses at package time a grace not longer than the margin: %j', async (params, message) => {
    const error = await packaged(params).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain(message);
    expect(error?.message).toContain('the in-use check sees nothing');
  });

  it.each([
    [{ inUseMarginSeconds: '-1' }, "inUseMarginSeconds is a whole number from 0 to 86400, not '-1'"],
    [{ inUseMarginSeconds: '86401' }, "inUseMarginSeconds is a whole number from 0 to 86400, not '86401'"],
    [{ graceSeconds: '15m' }, "graceSeconds is a whole number of seconds, not '15m'"],
  ])('refuses a malformed window %j', async (params, message) => {
    await expect(packaged(params)).rejects.toThrow(message);
  });

  it('is what the README and docs/consumers.md state, with the numbers of the code', async () => {
    const { graceSeconds, minGraceSeconds, inUseMarginSeconds } = await defaults();
    const readme = await readFile('README.md', 'utf8');
    expect(readme).toContain('credential_process = iam-key-rotator credentials --vault-path');
    expect(readme).toContain(
      `(defaults: refresh ${DEFAULT_REFRESH_SECONDS} s, skew ${CLOCK_SKEW_SECONDS} s, grace ${graceSeconds} s)`,
    );
    const consumers = (await readFile('docs/consumers.md', 'utf8')).replace(/\s+/g, ' ');
    expect(consumers).toContain('**`graceSeconds` ≥ refresh + skew**');
    expect(consumers).toContain(
      `The defaults: refresh ${DEFAULT_REFRESH_SECONDS}, grace ${graceSeconds}, \`minGraceSeconds\` ${minGraceSeconds}.`,
    );
    expect(consumers).toContain(`(default ${inUseMarginSeconds})`);
    expect(consumers).toContain(`clock skew between it and AWS (${CLOCK_SKEW_SECONDS} s allowed)`);
  });
});
