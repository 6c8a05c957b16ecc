import type { StateMachineDefinition } from 'aws-local-stepfunctions';

const MERGE = 'States.JsonMerge(';

/** Where the intrinsic argument starting at `from` ends: a `,` or `)` outside quotes and nested calls. */
function argumentEnd(expression: string, from: number): number {
  let depth = 0;
  let quoted = false;
  for (let at = from; at < expression.length; at++) {
    const c = expression[at];
    if (quoted) {
      if (c === '\\') at += 1;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === '(') depth += 1;
    else if (c === ')' && depth-- === 0) return at;
    else if (c === ',' && depth === 0) return at;
  }
  return expression.length;
}

/** The expression with each JsonMerge whose first argument is a path merging into a copy of it. */
function copyFirstPaths(expression: string): string {
  let out = '';
  let from = 0;
  for (let at = expression.indexOf(MERGE); at >= 0; at = expression.indexOf(MERGE, from)) {
    const start = at + MERGE.length;
    const end = argumentEnd(expression, start);
    const first = expression.slice(start, end).trim();
    if (first.startsWith('$')) {
      out += `${expression.slice(from, start)}States.StringToJson(States.JsonToString(${first}))`;
      from = end;
    } else {
      // A nested call's result is a fresh value; calls inside it are rewritten on the next turns.
      out += expression.slice(from, start);
      from = start;
    }
  }
  return out + expression.slice(from);
}

function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key.endsWith('.$') && typeof value === 'string' && value.includes(MERGE)
        ? copyFirstPaths(value)
        : rewrite(value),
    ]),
  );
}

/**
 * aws-local-stepfunctions 3 runs States.JsonMerge as `Object.assign(first, second)`: given a path
 * first, it merges into the state's input, and a retried state (whose next attempt starts from
 * that input) or its Catch then sees the input changed, where Step Functions' intrinsics change
 * nothing. The definition the runner gets merges into a copy of such a path instead; the same
 * definition is returned when no JsonMerge takes a path first.
 */
export function copyJsonMergeTargets(definition: StateMachineDefinition): StateMachineDefinition {
  const text = JSON.stringify(definition);
  if (!text.includes(MERGE)) return definition;
  const rewritten = rewrite(definition) as StateMachineDefinition;
  return JSON.stringify(rewritten) === text ? definition : rewritten;
}
