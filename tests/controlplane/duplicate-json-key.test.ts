// duplicateJsonKey, table-tested: the first repeated key's path, keys compared as decoded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicateJsonKey } from '../../controlplane/apply/duplicate-json-key.ts';

test('duplicateJsonKey: the path of the first key an object repeats', () => {
  const rows: [string, string | undefined][] = [
    ['{"a":1,"b":{"c":2}}', undefined],
    ['{"a":{"b":1},"c":{"b":1}}', undefined],
    ['[[],{},[{}],"{\\"a\\":1,\\"a\\":2}"]', undefined],
    ['{"a":1,"b":{"c":2,"c":3}}', 'b.c'],
    ['[{"x":1},{"m":{"n":[1,{"k":1,"k":2}]}}]', '[1].m.n[1].k'],
    ['{"a":"}\\",\\"a","a":2}', 'a'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"a b":{"x":1,"x":1}}', '["a b"].x'],
    ['{"items":[{"spec":{"replicas":1,"replicas":2}}]}', 'items[0].spec.replicas'],
  ];
  for (const [text, want] of rows) assert.equal(duplicateJsonKey(text), want, text);
});
