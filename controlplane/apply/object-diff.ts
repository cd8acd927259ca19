// Field-level differences between two JSON values, for dry runs and `lattice diff`.
import { isDeepStrictEqual } from 'node:util';
import { appendKey } from '../../schemas/field-path.ts';
import type { FieldChange } from '../../schemas/types.gen.ts';

export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (isDeepStrictEqual(before, after)) return [];
  if (before === undefined) return [{ path, op: 'add', after }];
  if (after === undefined) return [{ path, op: 'remove', before }];
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, i) => diffValues(item, after[i], `${path}[${i}]`));
  }
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => diffValues(before[key], after[key], appendKey(path, key)));
  }
  return [{ path, op: 'replace', before, after }];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
