// Kubernetes label selectors: `a=b,c!=d,e in (x,y),f notin (z),g,!h`. Pure, so the store, the
// API and the browser (the UI's label filter) parse and match them the same way.

/** A selector that does not parse; `path` names the field it came from. */
export class LabelSelectorError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'LabelSelectorError';
  }
}

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: readonly string[] }
  | { key: string; op: 'exists' | 'notexists' };

export interface LabelSelector {
  readonly requirements: readonly Requirement[];
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

const KEY = /^((?=[^/]{1,253}\/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(|[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

export function parseLabelSelector(text: string, field = 'labelSelector'): LabelSelector {
  const requirements = splitTopLevel(text.trim()).map((part) => parseRequirement(part.trim(), text, field));
  return {
    requirements,
    matches: (labels) => requirements.every((r) => matchesRequirement(r, labels ?? {})),
  };
}

/** Selects objects whose labels include every pair (placement.agentSelector). */
export function selectorFromMap(map: Readonly<Record<string, string>>): LabelSelector {
  const requirements: Requirement[] = Object.entries(map).map(([key, value]) => ({ key, op: 'in', values: [value] }));
  return { requirements, matches: (labels) => requirements.every((r) => matchesRequirement(r, labels ?? {})) };
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && r.values.includes(labels[r.key]!);
    case 'notin':
      return !has || !r.values.includes(labels[r.key]!);
  }
}

// Commas separate requirements except inside the parentheses of a set.
function splitTopLevel(text: string): string[] {
  if (text === '') return [];
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

function parseRequirement(part: string, whole: string, field: string): Requirement {
  const fail = (why: string): never => {
    throw new LabelSelectorError(field, `${JSON.stringify(whole)}: ${why}`);
  };
  if (part === '') fail('empty requirement (stray comma?)');
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (set) {
    const [, key, op, list] = set as unknown as [string, string, 'in' | 'notin', string];
    checkKey(key, fail);
    const values = list.split(',').map((v) => v.trim());
    if (values.length === 1 && values[0] === '') fail(`"${key} ${op} ()" needs at least one value`);
    values.forEach((v) => checkValue(v, fail));
    return { key, op, values };
  }
  const binary = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (binary) {
    const [, key, op, value] = binary as unknown as [string, string, string, string];
    checkKey(key, fail);
    checkValue(value, fail);
    return { key, op: op === '!=' ? 'notin' : 'in', values: [value] };
  }
  const negated = /^!\s*(\S+)$/.exec(part);
  if (negated) {
    checkKey(negated[1]!, fail);
    return { key: negated[1]!, op: 'notexists' };
  }
  if (/^\S+$/.test(part)) {
    checkKey(part, fail);
    return { key: part, op: 'exists' };
  }
  return fail(`cannot parse "${part}"; use key=value, key!=value, key in (a,b), key notin (a,b), key or !key`);
}

function checkKey(key: string, fail: (why: string) => never): void {
  if (!KEY.test(key)) fail(`"${key}" is not a valid label key`);
}

function checkValue(value: string, fail: (why: string) => never): void {
  if (!VALUE.test(value)) fail(`"${value}" is not a valid label value`);
}
