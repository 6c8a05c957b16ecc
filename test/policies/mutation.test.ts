import { describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { FunctionName, PolicyValue, Statement } from '../../deploy/policies.cjs';
import { type Scenario, SCENARIOS } from './scenarios.js';
import { usePolicyLab } from './support.js';

const lab = usePolicyLab();

/**
 * The Lambda runtime, not the handlers, writes the logs and traces: the local stack has neither,
 * so these grants (policies.cjs runtimeStatements) are left out of the mutation test by name.
 */
const RUNTIME_ACTIONS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
];

const list = (value: PolicyValue | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

interface Mutation {
  fn: FunctionName;
  /** What was taken away, as the failure names it. */
  label: string;
  /** The actions the emulator's denials must name, and only these. */
  actions: string[];
  statements: Statement[];
}

/** One action taken out of one statement (the statement goes when it held only that action). */
function withoutAction(statements: Statement[], index: number, action: string): Statement[] {
  return statements.flatMap((statement, i) => {
    if (i !== index) return [statement];
    const rest = list(statement.Action).filter((a) => a !== action);
    return rest.length === 0 ? [] : [{ ...statement, Action: rest }];
  });
}

/** One value taken out of one condition key's list. */
function withoutConditionValue(
  statements: Statement[],
  index: number,
  op: string,
  key: string,
  value: string,
) {
  return statements.map((statement, i) => {
    if (i !== index || !statement.Condition) return statement;
    const keys = statement.Condition[op] ?? {};
    return {
      ...statement,
      Condition: {
        ...statement.Condition,
        [op]: { ...keys, [key]: list(keys[key]).filter((v) => v !== value) },
      },
    };
  });
}

/** Every single action, and every value of a condition key that lists several, of every function. */
function mutations(): Mutation[] {
  return policies.FUNCTIONS.flatMap((fn) => {
    const statements = policies.FUNCTION_STATEMENTS[fn];
    return statements.flatMap((statement, index) => {
      const actions = list(statement.Action);
      const where = `${fn} ${statement.Sid ?? `#${index}`}`;
      const byAction = actions.map((action) => ({
        fn,
        label: `${fn}: ${action}`,
        actions: [action],
        statements: withoutAction(statements, index, action),
      }));
      const byCondition = Object.entries(statement.Condition ?? {}).flatMap(([op, keys]) =>
        Object.entries(keys).flatMap(([key, values]) =>
          list(values).length < 2
            ? []
            : list(values).map((value) => ({
                fn,
                label: `${where}: ${op} ${key} without '${value}'`,
                actions,
                statements: withoutConditionValue(statements, index, op, key, value),
              })),
        ),
      );
      return [...byAction, ...byCondition];
    });
  });
}

/** Runs a scenario; the error when its outcome is not the expected one. */
async function outcome(scenario: Scenario): Promise<unknown> {
  try {
    await scenario.run(lab());
    return undefined;
  } catch (error) {
    return error ?? 'failed';
  }
}

describe('least privilege, proven by mutation', () => {
  it('names the runtime-only grants it leaves out', () => {
    for (const fn of policies.FUNCTIONS) {
      const runtime = policies.runtimeStatements(fn).flatMap((s) => list(s.Action));
      expect(runtime.sort()).toEqual([...RUNTIME_ACTIONS].sort());
    }
  });

  it(
    'removing any action (or any listed condition value) from any function makes a scenario fail, denied by name',
    { timeout: 120_000 },
    async () => {
      const aws = lab().stack.aws;
      // Which grants each scenario uses, with every policy intact (and no denial).
      const used = new Map<Scenario, Set<string>>();
      for (const scenario of SCENARIOS) {
        await lab().use(scenario.kv);
        aws.clearAuthorizationLog();
        expect(await outcome(scenario), scenario.name).toBeUndefined();
        expect(aws.denials()).toEqual([]);
        used.set(scenario, new Set(aws.allowedActions().map((a) => `${a.roleArn} ${a.action}`)));
      }

      const problems: string[] = [];
      const proven: string[] = [];
      for (const mutation of mutations()) {
        const role = lab().roleArn(mutation.fn);
        const candidates = SCENARIOS.filter((s) =>
          mutation.actions.some((a) => used.get(s)?.has(`${role} ${a}`)),
        );
        let proof: string | undefined;
        const denied = new Set<string>();
        for (const scenario of candidates) {
          await lab().use(scenario.kv);
          await lab().putPolicy(
            mutation.fn,
            lab().render({
              Version: '2012-10-17',
              Statement: [...policies.runtimeStatements(mutation.fn), ...mutation.statements],
            }),
          );
          aws.clearAuthorizationLog();
          const failure = await outcome(scenario);
          const denials = aws.denials();
          for (const d of denials) denied.add(`${d.roleArn === role ? mutation.fn : d.roleArn} ${d.action}`);
          await lab().putPolicy(mutation.fn, lab().policy(mutation.fn));
          if (failure === undefined) continue;
          const named =
            denials.length > 0 &&
            denials.every((d) => d.roleArn === role && mutation.actions.includes(d.action));
          if (!named) {
            problems.push(
              `${mutation.label}: '${scenario.name}' failed, but the denials were ${JSON.stringify(denials)}`,
            );
          }
          proof = scenario.name;
          break;
        }
        if (proof !== undefined) proven.push(`${mutation.label} <- ${proof}`);
        else if (denied.size > 0)
          problems.push(`${mutation.label}: denied (${[...denied].join(', ')}) but no scenario failed`);
        else problems.push(`unneeded action: ${mutation.label} (no scenario uses it)`);
      }
      console.info(`least privilege: ${proven.length} grants proven needed\n${proven.join('\n')}`);
      expect(problems).toEqual([]);
    },
  );
});
