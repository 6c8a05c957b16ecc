import { it } from 'vitest';
import { observe } from '../../local-stack/provision.js';
import { useLocalStack } from '../support/local-stack.js';
const ctx = useLocalStack();
it('probe', async () => {
  for (const i of [1, 2, 3]) {
    const user = await ctx.seed(`p-${i}`);
    const reports = await Promise.all([
      ctx.rotate(user, { executionName: `lost-a-${i}`, faults: ['iam:CreateAccessKey:after-commit'] }),
      ctx.rotate(user, { executionName: `lost-b-${i}` }),
    ]);
    const o = await observe(ctx.target, user);
    process.stderr.write(JSON.stringify({ old: user.oldAccessKeyId, vault: o.vault?.accessKeyId, keys: o.accessKeys,
      r: reports.map((r) => ({ s: r.status, e: r.error, states: r.states,
        created: r.history.filter((e) => e.type === 'StateExited' && e.state?.name === 'CreateKey').map((e) => (e.state?.output as any)?.created?.accessKeyId) })) }, null, 1) + '\n');
  }
});
