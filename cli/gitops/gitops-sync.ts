// One GitOps sync: read the directory, apply everything it holds under one apply set (pruning
// by inventory what left it), and report. Files the server refuses are set aside and the rest is
// applied again, so one broken file never holds the others back.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LatticeApiError } from '../../client/api-client.ts';
import type { ApplyResult } from '../../schemas/types.gen.ts';
import { CliError } from '../errors.ts';
import { objectRef } from '../kinds.ts';
import { locate, manifestFiles, parseManifestText, type Manifest } from '../manifests.ts';
import type { Session } from '../session.ts';
import { assemble, type FileProblem, type FileRead } from './assemble.ts';

export type SyncTrigger = 'start' | 'change' | 'interval';

export interface SyncOptions {
  dir: string;
  applySet: string;
  prune: boolean;
  /** For objects without metadata.namespace (default: the user's own). */
  namespace?: string;
}

export interface SyncReport {
  trigger: SyncTrigger;
  /** Digest of the directory's manifest files, like a source revision. */
  revision: string;
  result?: ApplyResult;
  problems: FileProblem[];
  /** Why the sync as a whole failed (nothing was applied). */
  failure?: string;
  pruneSkipped: boolean;
}

export class GitOpsSync {
  private readonly lastGood = new Map<string, Manifest[]>();

  constructor(
    private readonly session: Session,
    private readonly options: SyncOptions,
  ) {}

  private read(): { reads: FileRead[]; revision: string } {
    const hash = createHash('sha256');
    const reads = manifestFiles([this.options.dir], true).map((file): FileRead => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        return { file, error: `${file}: cannot read: ${(error as Error).message}` };
      }
      hash.update(`${file}\0${text}\0`);
      try {
        const manifests = parseManifestText(text, file);
        if (this.options.namespace) for (const { object } of manifests) if (object.metadata && object.metadata.namespace === undefined) object.metadata.namespace = this.options.namespace;
        return { file, manifests };
      } catch (error) {
        return { file, error: (error as Error).message }; // it names the file (and document)
      }
    });
    return { reads, revision: hash.digest('hex').slice(0, 12) };
  }

  async sync(trigger: SyncTrigger): Promise<SyncReport> {
    const { reads, revision } = this.read();
    const rejected = new Map<string, string>();
    const abandoned = new Set<string>();
    const report = (fields: Partial<SyncReport>): SyncReport => ({ trigger, revision, problems: [], pruneSkipped: false, ...fields });
    // Each refused round sets at least one more file aside, so this ends.
    for (;;) {
      const assembly = assemble(reads, { lastGood: this.lastGood, rejected, abandoned });
      const prune = this.options.prune && assembly.pruneSafe;
      const pruneSkipped = this.options.prune && !assembly.pruneSafe;
      if (assembly.manifests.length === 0 && !prune) return report({ problems: assembly.problems, pruneSkipped, failure: reads.length === 0 ? `no manifests in ${this.options.dir}` : undefined });
      let result: ApplyResult;
      try {
        result = await this.session.client.apply(assembly.manifests.map((m) => m.object), { applySet: this.options.applySet, prune });
      } catch (error) {
        if (!(error instanceof LatticeApiError) || error.status >= 500 || error.status === 401) return report({ problems: assembly.problems, failure: failureText(error) });
        const blamed = new Map<string, string>();
        for (const problem of locate(error.body, assembly.manifests.length)) {
          const source = problem.index === undefined ? undefined : assembly.manifests[problem.index]?.source;
          if (!source) return report({ problems: assembly.problems, failure: failureText(error) });
          const text = `${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
          const where = `${source.file}${source.document > 1 ? ` (document ${source.document})` : ''}`;
          blamed.set(source.file, blamed.has(source.file) ? `${blamed.get(source.file)}; ${text}` : `${where}: ${text}`);
        }
        for (const [file, text] of blamed) {
          if (assembly.substituted.has(file)) abandoned.add(file);
          else rejected.set(file, text);
        }
        continue;
      }
      for (const read of reads) if ('manifests' in read && !rejected.has(read.file)) this.lastGood.set(read.file, read.manifests);
      for (const file of [...this.lastGood.keys()]) if (!reads.some((r) => r.file === file)) this.lastGood.delete(file);
      return report({ result, problems: assembly.problems, pruneSkipped });
    }
  }
}

function failureText(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof LatticeApiError) return `${error.status} ${error.body.reason}: ${error.body.message}`;
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ? `cannot reach the control plane (${cause.code})` : ((error as Error).message ?? String(error));
}

/** The status line of a sync, then one line per change and per problem. */
export function formatReport(report: SyncReport, now = new Date()): string {
  const stamp = `[${now.toISOString().replace(/\.\d+Z$/, 'Z')}] sync (${report.trigger}) revision ${report.revision}`;
  if (report.failure && !report.result) {
    return [`${stamp}: failed: ${report.failure}; nothing applied`, ...problemLines(report.problems)].join('\n');
  }
  const results = report.result?.results ?? [];
  const count = (action: string) => results.filter((r) => r.action === action).length;
  const created = count('created');
  const configured = count('configured');
  const errors = report.problems.length;
  const lines = [
    `${stamp} → store revision ${report.result?.revision ?? '-'}: applied ${created + configured} (${created} created, ${configured} configured), unchanged ${count('unchanged')}, pruned ${count('pruned')}, errors ${errors}`,
    ...results.filter((r) => r.action !== 'unchanged').map((r) => `  ${objectRef(r.kind, r.name)} ${r.action}${report.trigger === 'interval' && r.action === 'configured' ? ' (drift corrected)' : ''}`),
    ...problemLines(report.problems),
  ];
  if (report.pruneSkipped) lines.push('  prune skipped: a broken file has no last good state in this run, and its objects must not be pruned');
  return lines.join('\n');
}

function problemLines(problems: readonly FileProblem[]): string[] {
  return problems.map((p) => `  error ${p.message}${p.keptLastGood ? ' (its last good state stays applied)' : ''}`);
}

