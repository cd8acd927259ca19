// What one GitOps sync sends, from the files as they are now and what the loop knows: pure, so
// the rules for broken files are table-tested.
//
// A file that cannot be parsed, or whose objects the server refused, is reported and contributes
// its last good objects instead, so they stay as they were (they are neither changed nor pruned).
// A broken file with no known good state (a new file, or one broken since this process started)
// may still have objects in the apply set from an earlier run: while there is one, nothing is
// pruned.
import type { Manifest } from '../manifests.ts';

export type FileRead = { file: string; manifests: Manifest[] } | { file: string; error: string };

export interface FileProblem {
  file: string;
  /** Starts with the file's path (and document), e.g. "site/web.yaml: spec.replicas: must be …". */
  message: string;
  /** Its last good objects were applied in its place. */
  keptLastGood: boolean;
}

export interface Assembly {
  manifests: Manifest[];
  /** Files whose last good objects stand in for what they hold now. */
  substituted: Set<string>;
  problems: FileProblem[];
  pruneSafe: boolean;
}

export interface SyncKnowledge {
  /** Each file's objects as last applied successfully. */
  lastGood: ReadonlyMap<string, Manifest[]>;
  /** Files whose current objects the server refused in this sync, with its reason. */
  rejected: ReadonlyMap<string, string>;
  /** Files whose last good objects the server refused too: they contribute nothing. */
  abandoned: ReadonlySet<string>;
}

export function assemble(reads: readonly FileRead[], knowledge: SyncKnowledge): Assembly {
  const manifests: Manifest[] = [];
  const substituted = new Set<string>();
  const problems: FileProblem[] = [];
  let pruneSafe = true;
  for (const read of reads) {
    const problem = 'error' in read ? read.error : knowledge.rejected.get(read.file);
    if (problem === undefined) {
      manifests.push(...(read as { manifests: Manifest[] }).manifests);
      continue;
    }
    const good = knowledge.abandoned.has(read.file) ? undefined : knowledge.lastGood.get(read.file);
    if (good) {
      manifests.push(...good);
      substituted.add(read.file);
    } else pruneSafe = false;
    problems.push({ file: read.file, message: problem, keptLastGood: good !== undefined });
  }
  return { manifests, substituted, problems, pruneSafe };
}
