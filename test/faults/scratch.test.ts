import { it } from 'vitest';
import { useLocalStack } from '../support/local-stack.js';

const ctx = useLocalStack({ env: { ROTATOR_AWS_TIMEOUT_MS: '300', VAULT_TIMEOUT_MS: '300' } });

it('trace', async () => {
  for (const keys of [1, 0]) {
  const user = await ctx.seed(`trace-${keys}`, { keys });
  const seq: string[] = [];
  let state = '';
  const traffic = ctx.stack.traffic;
  const orig = traffic.intercept.bind(traffic);
  const counts = new Map<string, number>();
  traffic.intercept = (s, op) => {
    const n = `${s}:${op}`;
    counts.set(n, (counts.get(n) ?? 0) + 1);
    seq.push(`${state} ${n}@${counts.get(n)}`);
    return orig(s, op);
  };
  const report = await ctx.rotate(user, { onEvent: (e) => { if (e.type === 'StateEntered') state = e.state?.name ?? ''; } });
  traffic.intercept = orig;
  console.log(report.status, JSON.stringify(report.calls), '\n' + seq.join('\n'));
  }
});
