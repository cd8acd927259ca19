// The Workloads view's label filter, in label-selector syntax (`app=web,tier!=db,env,!debug,
// zone in (a,b)`), matched in the browser against the one Workload watch the page already has.

export type LabelFilter = { ok: true; matches(labels: Readonly<Record<string, string>> | undefined): boolean } | { ok: false; error: string };

type Test = (labels: Readonly<Record<string, string>>) => boolean;

const KEY = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;

export function parseLabelFilter(text: string): LabelFilter {
  const tests: Test[] = [];
  for (const raw of splitOutsideParens(text)) {
    const part = raw.trim();
    if (part === '') return { ok: false, error: 'empty requirement (a stray comma?)' };
    const test = parseRequirement(part);
    if (typeof test === 'string') return { ok: false, error: test };
    tests.push(test);
  }
  return { ok: true, matches: (labels) => tests.every((t) => t(labels ?? {})) };
}

function parseRequirement(part: string): Test | string {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
  if (set) {
    const [, key, op, list] = set as unknown as [string, string, string, string];
    const values = list.split(',').map((v) => v.trim());
    if (!KEY.test(key)) return `"${key}" is not a label key`;
    return op === 'in' ? (l) => Object.hasOwn(l, key) && values.includes(l[key]!) : (l) => !Object.hasOwn(l, key) || !values.includes(l[key]!);
  }
  const binary = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (binary) {
    const [, key, op, value] = binary as unknown as [string, string, string, string];
    if (!KEY.test(key)) return `"${key}" is not a label key`;
    return op === '!=' ? (l) => l[key] !== value : (l) => Object.hasOwn(l, key) && l[key] === value;
  }
  const negated = /^!\s*(\S+)$/.exec(part)?.[1];
  const key = negated ?? part;
  if (!KEY.test(key)) return `cannot read "${part}": use key=value, key!=value, key in (a,b), key or !key`;
  return negated ? (l) => !Object.hasOwn(l, key) : (l) => Object.hasOwn(l, key);
}

function splitOutsideParens(text: string): string[] {
  if (text.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
