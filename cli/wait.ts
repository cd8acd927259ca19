// --wait: follow the watch until workloads have rolled out, or objects are gone.
import type { ServedWorkload } from '../schemas/types.gen.ts';
import { CliError } from './errors.ts';
import { objectRef } from './kinds.ts';
import { crashReport, type RestartBaseline } from './crash-report.ts';
import type { Session } from './session.ts';
import { watchLoop, type WatchLoop } from './watch-loop.ts';

export interface NamedObject {
  namespace: string;
  name: string;
}

/** The spec the workload has now has been acted on, and it settled one way or the other. */
export function rolledOut(workload: ServedWorkload): boolean {
  const observed = workload.status?.observedGeneration ?? 0;
  return observed >= (workload.metadata.generation ?? 1) && (workload.status?.phase === 'Running' || workload.status?.phase === 'Failed');
}

export function phaseSummary(workload: ServedWorkload | undefined): string {
  if (!workload) return 'not seen yet';
  const status = workload.status;
  const progressing = status?.conditions?.find((c) => c.type === 'Progressing')?.message;
  return `${status?.phase ?? 'Pending'}, ${status?.readyReplicas ?? 0}/${workload.spec.replicas} ready, generation ${status?.observedGeneration ?? 0}/${workload.metadata.generation ?? 1} observed${progressing ? `: ${progressing}` : ''}`;
}

async function withDeadline<T>(loops: WatchLoop[], timeoutMs: number, work: Promise<T>, onTimeout: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(onTimeout())), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    for (const loop of loops) loop.stop();
  }
}

/**
 * Prints each workload's outcome as it settles; fails if any Failed, if one of its processes
 * exits or crash-loops meanwhile (saying how, with its last lines), or if the time runs out.
 */
export async function waitForWorkloads(session: Session, targets: readonly NamedObject[], timeoutMs: number, print: (line: string) => void): Promise<void> {
  const latest = new Map<string, ServedWorkload | undefined>(targets.map((t) => [`${t.namespace}/${t.name}`, undefined]));
  const failed: string[] = [];
  const namespaces = [...new Set(targets.map((t) => t.namespace))];
  const loops = namespaces.map((namespace) => watchLoop(session, { kind: 'Workload', namespace }));
  const pending = new Set(latest.keys());
  const baselines = new Map<string, RestartBaseline>();
  const follow = async (loop: WatchLoop) => {
    for await (const event of loop) {
      const key = `${event.object.metadata.namespace}/${event.object.metadata.name}`;
      if (!pending.has(key)) continue;
      const workload = event.object as ServedWorkload;
      if (event.type === 'DELETED') throw new CliError(`${objectRef('Workload', workload.metadata.name)} was deleted while waiting for it`);
      latest.set(key, workload);
      if (!rolledOut(workload)) {
        if (!baselines.has(key)) baselines.set(key, new Map());
        const crash = await crashReport(session, workload.metadata.namespace!, workload.metadata.name, baselines.get(key)!);
        if (crash) throw new CliError(`${objectRef('Workload', workload.metadata.name)} did not come up: ${crash}`);
        continue;
      }
      pending.delete(key);
      const phase = workload.status!.phase!;
      if (phase === 'Failed') failed.push(workload.metadata.name);
      print(`${objectRef('Workload', workload.metadata.name)} ${phase} (${workload.status?.readyReplicas ?? 0}/${workload.spec.replicas} ready)`);
      if (pending.size === 0) return loops.forEach((l) => l.stop());
    }
  };
  await withDeadline(loops, timeoutMs, Promise.all(loops.map(follow)), () => {
    const waiting = [...pending].map((key) => `${objectRef('Workload', key.split('/')[1]!)} (${phaseSummary(latest.get(key))})`);
    return `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${waiting.join('; ')}`;
  });
  if (failed.length > 0) throw new CliError(`${failed.map((n) => objectRef('Workload', n)).join(', ')} Failed: \`lattice describe workload ${failed[0]}\` shows why`);
}

/** Waits for the DELETED event of each object, watching from the revision its deletion was requested at. */
export async function waitForDeletion(session: Session, kind: string, targets: readonly (NamedObject & { resourceVersion: string })[], timeoutMs: number): Promise<void> {
  if (targets.length === 0) return;
  const pending = new Set(targets.map((t) => `${t.namespace}/${t.name}`));
  const from = String(Math.min(...targets.map((t) => Number(t.resourceVersion))) - 1);
  const namespaces = [...new Set(targets.map((t) => t.namespace))];
  const loops = namespaces.map((namespace) => watchLoop(session, { kind, namespace, resourceVersion: from }));
  const follow = async (loop: WatchLoop) => {
    for await (const event of loop) {
      if (event.type !== 'DELETED') continue;
      pending.delete(`${event.object.metadata.namespace}/${event.object.metadata.name}`);
      if (pending.size === 0) return loops.forEach((l) => l.stop());
    }
  };
  await withDeadline(loops, timeoutMs, Promise.all(loops.map(follow)), () => `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${[...pending].map((k) => objectRef(kind, k.split('/')[1]!)).join(', ')} to be deleted`);
}
