// Generates, from the JSON Schemas in this folder, types.gen.ts (the types) and validators.gen.js
// (ajv's validators as code, so that no process compiles schemas as it starts: that was a fifth
// of `lattice up`'s start). `--check` fails when a checked-in file differs from what would be
// generated (run by CI).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, _ } from 'ajv';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import formatsModule from 'ajv-formats';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

const here = dirname(fileURLToPath(import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function loadSchemas(): Map<string, { title: string; schema: Record<string, Json> }> {
  const byFile = new Map<string, { title: string; schema: Record<string, Json> }>();
  for (const file of readdirSync(here).filter((f) => f.endsWith('.schema.json')).sort()) {
    const schema = JSON.parse(readFileSync(join(here, file), 'utf8')) as Record<string, Json>;
    if (typeof schema.title !== 'string') throw new Error(`${file}: needs a title (it names the generated type)`);
    byFile.set(file, { title: schema.title, schema });
  }
  return byFile;
}

// json-schema-to-typescript resolves $refs itself, but cross-file refs would make it emit a
// shared type once per file. So every file becomes a definition of one root schema and every
// $ref is rewritten to point inside that root.
function rewrite(node: Json, ownTitle: string, titles: Map<string, string>): Json {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, ownTitle, titles));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$id' || key === 'x-error') continue;
    // "one of these fields must be set" is validation only; TypeScript would turn it into an
    // index signature.
    if ((key === 'anyOf' || key === 'oneOf') && 'properties' in node && isRequiredOnly(value)) continue;
    if (key === '$ref' && typeof value === 'string') {
      const [file, pointer = ''] = value.split('#');
      const title = file ? titles.get(file) : ownTitle;
      if (!title) throw new Error(`unknown $ref ${value}`);
      out.$ref = `#/definitions/${title}${pointer}`;
      continue;
    }
    out[key] = rewrite(value, ownTitle, titles);
  }
  return out;
}

function isRequiredOnly(branches: Json): boolean {
  return Array.isArray(branches) && branches.every((b) => b !== null && typeof b === 'object' && Object.keys(b).join() === 'required');
}

// What the server hands out was validated when it was written (or built from what was), so its
// defaults are filled in, and its readers need not fill them again. The Served twin of a
// definition says so: each property with a default is required, and its refs lead to the twins
// of what they point at. Only what holds a default gets a twin (ServedWorkload,
// ServedWorkloadSpec, …); the rest is shared.
const SERVED_PREFIX = 'Served';

function isSchema(node: Json | undefined): node is Record<string, Json> {
  return node !== null && typeof node === 'object' && !Array.isArray(node);
}

/** The node a rewritten $ref (`#/definitions/Title/pointer`) points at. */
function target(definitions: Record<string, Json>, ref: string): Json {
  let node: Json = { definitions };
  for (const part of ref.replace(/^#\//, '').split('/')) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isSchema(node) ? (node[key] as Json) : null;
  }
  if (node === undefined || node === null) throw new Error(`unresolved $ref ${ref}`);
  return node;
}

function holdsDefault(definitions: Record<string, Json>, node: Json, seen = new Set<Json>()): boolean {
  if (node === null || typeof node !== 'object' || seen.has(node)) return false;
  seen.add(node);
  if (Array.isArray(node)) return node.some((n) => holdsDefault(definitions, n, seen));
  if (isSchema(node.properties) && Object.values(node.properties).some((p) => isSchema(p) && 'default' in p)) return true;
  if (typeof node.$ref === 'string' && holdsDefault(definitions, target(definitions, node.$ref), seen)) return true;
  return Object.values(node).some((n) => holdsDefault(definitions, n, seen));
}

/** Adds the Served twin of definitions[title] (and of what it refers to) unless there is one. */
function addServedTwin(definitions: Record<string, Json>, title: string): void {
  if (definitions[SERVED_PREFIX + title]) return;
  // Taken before it is made: a definition that leads back to itself finds its twin under way.
  definitions[SERVED_PREFIX + title] = {};
  definitions[SERVED_PREFIX + title] = twin(definitions, definitions[title]!, `#/definitions/${title}`);
}

/** A $ref to what holds a default leads to its twin. */
function servedRef(definitions: Record<string, Json>, ref: string): string {
  if (!holdsDefault(definitions, target(definitions, ref))) return ref;
  const [, title = '', pointer = ''] = /^#\/definitions\/([^/]+)(.*)$/.exec(ref) ?? [];
  addServedTwin(definitions, title);
  return `#/definitions/${SERVED_PREFIX}${title}${pointer}`;
}

const pointerKey = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

function twin(definitions: Record<string, Json>, node: Json, path: string): Json {
  if (Array.isArray(node)) return node.map((n, i) => twin(definitions, n, `${path}/${i}`));
  if (!isSchema(node)) return node;
  // A named part without defaults is the original's (a copy would be a second type of the same
  // shape); a nameless one is copied, as a ref to it would name it.
  if (!holdsDefault(definitions, node) && typeof node.title === 'string') return { $ref: path };
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}/${pointerKey(key)}`;
    if (key === 'title' && typeof value === 'string') out.title = SERVED_PREFIX + value;
    else if (key === '$ref' && typeof value === 'string') out.$ref = servedRef(definitions, value);
    else if (key === 'properties' && isSchema(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, v]) => [name, twin(definitions, v, `${at}/${pointerKey(name)}`)]));
    } else if (key === '$defs' && isSchema(value)) {
      // The twin's refs lead to its own $defs only where they hold a default.
      const entries = Object.entries(value).filter(([, v]) => holdsDefault(definitions, v));
      out.$defs = Object.fromEntries(entries.map(([name, v]) => [name, twin(definitions, v, `${at}/${pointerKey(name)}`)]));
    } else if (key !== 'required') out[key] = twin(definitions, value, at);
  }
  const defaulted = isSchema(node.properties) ? Object.entries(node.properties).filter(([, p]) => isSchema(p) && 'default' in p).map(([name]) => name) : [];
  const required = [...new Set([...(Array.isArray(node.required) ? node.required : []), ...defaulted])];
  if (required.length > 0) out.required = required;
  return out;
}

/** Refs of an API body lead to the served objects. */
function serveRefs(definitions: Record<string, Json>, node: Json): Json {
  if (Array.isArray(node)) return node.map((n) => serveRefs(definitions, n));
  if (!isSchema(node)) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' ? servedRef(definitions, value) : serveRefs(definitions, value)]),
  );
}

export async function generateTypes(): Promise<string> {
  const schemas = loadSchemas();
  const titles = new Map([...schemas].map(([file, { title }]) => [file, title]));
  const definitions: Record<string, Json> = {};
  for (const { title, schema } of schemas.values()) definitions[title] = rewrite(schema, title, titles);
  // The objects as the store and the API hand them out (ServedLatticeObject); the API's bodies
  // carry them.
  addServedTwin(definitions, 'LatticeObject');
  definitions.Api = serveRefs(definitions, definitions.Api!);
  // The root only names the entry points; everything else is reached from them.
  const root = {
    title: 'LatticeTypes',
    description: 'The entry points of the generated types.',
    type: 'object',
    additionalProperties: false,
    required: ['object', 'agentMessage', 'serverMessage'],
    properties: {
      object: { $ref: '#/definitions/LatticeObject' },
      agentMessage: { $ref: '#/definitions/AgentProtocol/$defs/AgentMessage' },
      serverMessage: { $ref: '#/definitions/AgentProtocol/$defs/ServerMessage' },
    },
    definitions,
  };
  return compile(root as JSONSchema, 'LatticeTypes', {
    bannerComment: '/* Generated by `npm run gen` from schemas/*.schema.json. Do not edit. */',
    unreachableDefinitions: true,
    additionalProperties: false,
    style: { singleQuote: true, printWidth: 110 },
  });
}

/** A CommonJS module's default export, whether the loader unwrapped it (tsx) or not (node). */
function defaultExport(module: unknown): unknown {
  return (module as { default?: unknown }).default ?? module;
}

// The kinds' schemas and the two message unions, by the names validators.gen.js exports.
const VALIDATED = {
  Workload: 'workload.schema.json',
  Instance: 'instance.schema.json',
  Agent: 'agent.schema.json',
  Secret: 'secret.schema.json',
  Event: 'event.schema.json',
  AgentMessage: 'agent-protocol.schema.json#/$defs/AgentMessage',
  ServerMessage: 'agent-protocol.schema.json#/$defs/ServerMessage',
};

export function generateValidators(): string {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    code: { source: true, esm: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
  });
  (defaultExport(formatsModule) as unknown as (a: Ajv) => void)(ajv);
  ajv.addKeyword({ keyword: 'x-error', schemaType: 'string' });
  for (const { schema } of loadSchemas().values()) ajv.addSchema(schema);
  const standaloneCode = defaultExport(standaloneCodeModule) as typeof standaloneCodeModule.default;
  // The code requires ajv's runtime helpers and ajv-formats' formats.
  return `/* Generated by \`npm run gen\` from schemas/*.schema.json. Do not edit. */
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${standaloneCode(ajv, VALIDATED).replace(/^"use strict";/, '')}
`;
}

function validatorTypes(): string {
  return `/* Generated by \`npm run gen\` from schemas/*.schema.json. Do not edit. */
import type { ValidateFunction } from 'ajv';
${Object.keys(VALIDATED)
  .map((name) => `export declare const ${name}: ValidateFunction;`)
  .join('\n')}
`;
}

const outputs: Record<string, string> = {
  'types.gen.ts': await generateTypes(),
  'validators.gen.js': generateValidators(),
  'validators.gen.d.ts': validatorTypes(),
};
for (const [name, generated] of Object.entries(outputs)) {
  const file = join(here, name);
  if (process.argv.includes('--check')) {
    if (!existsSync(file) || readFileSync(file, 'utf8') !== generated) {
      console.error(`schemas/${name} is out of date with schemas/*.schema.json: run \`npm run gen\` and commit it`);
      process.exit(1);
    }
    console.log(`schemas/${name} is up to date`);
  } else {
    writeFileSync(file, generated);
    console.log(`wrote ${file}`);
  }
}
