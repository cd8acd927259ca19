// JSON.parse keeps the last of two equal keys without a word; the YAML parser refuses them. A
// manifest whose `replicas` appears twice is a mistake either way, so JSON bodies are scanned for
// it too: one pass over the text (already parsed, so known to be valid JSON), keys compared as
// JSON.parse decodes them ("a" and "\u0061" are the same key).

interface Frame {
  /** An object's keys so far; absent for an array. */
  keys?: Set<string>;
  /** The object's current key, or the array's current index. */
  at: string | number;
  expectKey: boolean;
}

/** The path of the first key an object repeats (`[0].spec.replicas`), or undefined. `text` must be valid JSON. */
export function duplicateJsonKey(text: string): string | undefined {
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5c /* \ */) {
          escaped = true;
          j += 1;
        } else if (c === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.has(key)) return pathOf(stack, key);
        top.keys.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = j;
    } else if (ch === 0x7b /* { */) {
      stack.push({ keys: new Set(), at: '', expectKey: true });
    } else if (ch === 0x5b /* [ */) {
      stack.push({ at: 0, expectKey: false });
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
    } else if (ch === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.keys) top.expectKey = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return undefined;
}

function pathOf(stack: readonly Frame[], key: string): string {
  let path = '';
  for (const frame of stack.slice(0, -1)) path += typeof frame.at === 'number' ? `[${frame.at}]` : segment(path, frame.at);
  return path + segment(path, key);
}

function segment(path: string, key: string): string {
  const name = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  return name.startsWith('[') || path === '' ? name : `.${name}`;
}
