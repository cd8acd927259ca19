// Request bodies → plain JSON documents, refusing what could hurt the server: invalid UTF-8,
// prototype keys, alias bombs, absurd nesting, and (like YAML) a key given twice. Every refusal says what was wrong.
import { parseAllDocuments } from 'yaml';
import secureJson from 'secure-json-parse';
import { badRequest } from '../errors.ts';
import { duplicateJsonKey } from './duplicate-json-key.ts';

export const MAX_DEPTH = 64;
const MAX_ALIASES = 100;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A YAML request body, parsed into documents only by the routes that take YAML. */
export class YamlBody {
  constructor(readonly text: string) {}
}

export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw badRequest('the request body is not valid UTF-8');
  }
}

export function parseJsonBody(body: Buffer): unknown {
  const text = decodeUtf8(body);
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw badRequest(`the body is not valid JSON: ${(error as Error).message}`);
  }
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined) throw badRequest(`the body repeats the key ${duplicate}: give each key once`, [{ path: duplicate, message: 'duplicate key' }]);
  checkShape(value, 'body');
  return value;
}

/** Every document of a YAML stream, as JSON values; empty documents are skipped. */
export function parseYamlDocuments(text: string): unknown[] {
  let documents;
  try {
    documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  } catch (error) {
    throw badRequest(`the YAML could not be parsed: ${describeParseError(error)}`);
  }
  if (!Array.isArray(documents)) return [];
  const values: unknown[] = [];
  documents.forEach((document, i) => {
    const problem = document.errors[0];
    // The yaml parser recurses: an absurdly nested document exhausts the stack and comes back
    // as an ordinary parse error.
    if (problem && /Maximum call stack/.test(problem.message)) throw badRequest(`YAML document ${i + 1} nests too deeply (at most ${MAX_DEPTH} levels)`);
    if (problem) throw badRequest(`YAML document ${i + 1}: ${problem.message}`);
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (error) {
      throw badRequest(`YAML document ${i + 1}: ${describeParseError(error)}`);
    }
    if (value === null || value === undefined) return;
    checkShape(value, `document ${i + 1}`);
    values.push(value);
  });
  return values;
}

/** JSON apply bodies: one object, an array of objects, or a List with items. */
export function jsonDocuments(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object' && (value as { kind?: unknown }).kind === 'List') {
    const items = (value as { items?: unknown }).items;
    if (!Array.isArray(items)) throw badRequest('a List needs an items array', [{ path: 'items', message: 'must be an array' }]);
    return items;
  }
  return [value];
}

function describeParseError(error: unknown): string {
  if (error instanceof RangeError) return `the document nests too deeply (at most ${MAX_DEPTH} levels)`;
  const message = (error as Error)?.message ?? String(error);
  return /alias/i.test(message) ? `too many aliases (at most ${MAX_ALIASES}): ${message}` : message;
}

// Iterative, so a hostile document cannot overflow the stack here either.
function checkShape(root: unknown, where: string): void {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_DEPTH) throw badRequest(`${where} nests deeper than ${MAX_DEPTH} levels`);
    if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) throw badRequest(`${where} uses the forbidden key "__proto__"`);
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
}
