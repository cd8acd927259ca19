// Manifests from files, directories and stdin, parsed here so every error names the file (and
// the document in it) rather than a position in one concatenated body. The server still
// validates: its error paths ([3].spec.replicas) are mapped back to the files with locate().
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ErrorBody } from '../schemas/types.gen.ts';
import { CliError } from './errors.ts';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const REDACTED = '<redacted>';

/** Where one object came from: the file ('-' for stdin) and its document (1-based). */
export interface ManifestSource {
  file: string;
  document: number;
}

export interface Manifest {
  object: Record<string, unknown> & { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  source: ManifestSource;
}

/** The manifest files a list of -f arguments names, in a stable order; hidden entries skipped. */
export function manifestFiles(paths: readonly string[], recursive: boolean): string[] {
  const files: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (recursive) walk(path, depth + 1);
      } else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(path);
    }
  };
  for (const path of paths) {
    if (path === '-') {
      files.push('-');
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      throw new CliError(`${path}: no such file or directory`);
    }
    if (isDirectory) walk(path, 0);
    else files.push(path);
  }
  return files;
}

/** The objects of one file's text; a List (or a JSON array) counts as its items. */
export function parseManifestText(text: string, file: string): Manifest[] {
  const manifests: Manifest[] = [];
  const add = (value: unknown, document: number) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) return value.forEach((item) => add(item, document));
    if (typeof value !== 'object') throw new CliError(`${file} (document ${document}): expected an object with apiVersion, kind, metadata and spec, got ${JSON.stringify(value)}`);
    const object = value as Manifest['object'];
    if (object.kind === 'List') {
      if (!Array.isArray(object.items)) throw new CliError(`${file} (document ${document}): a List needs an items array`);
      return object.items.forEach((item) => add(item, document));
    }
    checkNoRedactedSecret(object, `${file} (document ${document})`);
    manifests.push({ object, source: { file, document } });
  };
  if (file.toLowerCase().endsWith('.json')) {
    try {
      add(JSON.parse(text), 1);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
    return manifests;
  }
  const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(documents) ? documents : [];
  list.forEach((document, i) => {
    const problem = document.errors[0];
    // The first line says what and where ("… at line 3, column 7:"); the rest is a code excerpt.
    if (problem) throw new CliError(`${file} (document ${i + 1}): ${problem.message.split('\n')[0]!.replace(/:$/, '')}`);
    add(document.toJS({ maxAliasCount: 100 }), i + 1);
  });
  return manifests;
}

/** Every object the -f arguments name, with its source. stdin is read when '-' is among them. */
export function loadManifests(paths: readonly string[], recursive: boolean, readStdin: () => string = () => readFileSync(0, 'utf8')): Manifest[] {
  if (paths.length === 0) throw new CliError('name the manifests with -f FILE, -f DIR or -f - (stdin)');
  const manifests: Manifest[] = [];
  for (const file of manifestFiles(paths, recursive)) {
    const text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
    manifests.push(...parseManifestText(text, file === '-' ? '<stdin>' : file));
  }
  if (manifests.length === 0) throw new CliError(`no objects in ${paths.join(', ')} (looked for .yaml, .yml and .json files${paths.some((p) => p !== '-') ? '; -R to include subdirectories' : ''})`);
  return manifests;
}

/**
 * A Secret copied from `lattice get -o yaml` holds placeholders, not values: applying it would
 * overwrite the real values with the placeholder.
 */
function checkNoRedactedSecret(object: Manifest['object'], where: string): void {
  if (object.kind !== 'Secret') return;
  const data = (object.spec as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const key = Object.keys(data).find((k) => data[k] === REDACTED);
  if (key) throw new CliError(`${where}: Secret ${String(object.metadata?.name)}: spec.data.${key} is the placeholder ${REDACTED} (copied from \`lattice get\`?); put the real value there or leave the key out`);
}

export function sourceText(source: ManifestSource): string {
  return `${source.file} (document ${source.document})`;
}

/** Which of the applied objects an error path or message is about ("[3].spec.replicas"). */
export interface LocatedProblem {
  index: number | undefined;
  path: string;
  message: string;
}

const INDEXED = /^\[(\d+)\]\.?(.*)$/;

/** The server's error, split per object. With one object, every detail is about it. */
export function locate(body: ErrorBody, count: number): LocatedProblem[] {
  const details = body.details?.length ? body.details : [{ path: '', message: body.message }];
  return details.map((d) => {
    const indexed = INDEXED.exec(d.path);
    if (indexed) return { index: Number(indexed[1]), path: indexed[2]!, message: d.message };
    const inMessage = /^\[(\d+)\] (.*)$/s.exec(d.message);
    if (inMessage) return { index: Number(inMessage[1]), path: d.path, message: inMessage[2]! };
    return { index: count === 1 ? 0 : undefined, path: d.path, message: d.message };
  });
}

/** Error lines naming the file of each problem. */
export function describeProblems(body: ErrorBody, sources: readonly ManifestSource[]): string[] {
  return locate(body, sources.length).map((p) => {
    const where = p.index !== undefined && sources[p.index] ? `${sourceText(sources[p.index]!)}: ` : '';
    return `${where}${p.path ? `${p.path}: ` : ''}${p.message}`;
  });
}
