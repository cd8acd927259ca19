// `lattice rollout history|undo|restart` and `lattice scale`: read the Workload, change its spec,
// write it back with the resourceVersion read (a concurrent change makes it a 409, not a lost
// update). Revisions are the Workload's generations, as the store keeps them.
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import type { ServedWorkload, SpecRevision, WorkloadSpec } from '../../schemas/types.gen.ts';
import { examples, print, sessionFor } from '../command-kit.ts';
import { CliError } from '../errors.ts';
import { objectRef } from '../kinds.ts';
import { age } from '../duration.ts';
import { formatDocument } from '../output/objects.ts';
import { formatTable } from '../output/table.ts';
import type { Session } from '../session.ts';

interface NamespaceOption {
  namespace?: string;
}

async function readWorkload(session: Session, name: string, options: NamespaceOption): Promise<{ namespace: string; workload: ServedWorkload }> {
  const namespace = options.namespace ?? (await session.namespace());
  return { namespace, workload: await session.client.get<ServedWorkload>('workloads', namespace, name) };
}

async function writeSpec(session: Session, namespace: string, workload: ServedWorkload, spec: WorkloadSpec): Promise<ServedWorkload> {
  return session.client.put<ServedWorkload>('workloads', namespace, workload.metadata.name, { apiVersion: workload.apiVersion, kind: workload.kind, metadata: workload.metadata, spec });
}

/** Top-level spec fields that differ between two generations: "replicas, env". */
export function changedFields(before: unknown, after: unknown): string {
  if (before === undefined) return '(first)';
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !isDeepStrictEqual(a[k], b[k])).sort();
  return keys.length ? keys.join(', ') : '(no change)';
}

/** The generation undo goes back to: the one asked for, or the one before the current. */
export function undoTarget(history: readonly SpecRevision[], current: number, toRevision: number | undefined): SpecRevision {
  if (toRevision !== undefined) {
    const found = history.find((h) => h.generation === toRevision);
    if (!found) throw new CliError(`generation ${toRevision} is not in the history (kept: ${history.map((h) => h.generation).join(', ') || 'none'}); \`lattice rollout history\` lists them`);
    return found;
  }
  const previous = history.filter((h) => h.generation < current).at(-1);
  if (!previous) throw new CliError('no earlier generation to go back to: the workload has not changed since it was created');
  return previous;
}

function parseRevision(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`--to-revision must be a generation number (1, 2, …), got ${JSON.stringify(value)}`);
  return n;
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description("manage a workload's rollouts: its history of specs, going back to one, restarting its instances");

  rollout
    .command('history')
    .description("list a workload's last generations (revisions) and what changed in each")
    .argument('<workload>', 'workload name')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .option('--revision <n>', 'print the spec of that generation as YAML')
    .addHelpText('after', examples('lattice rollout history web', 'lattice rollout history web --revision 2'))
    .action(async (name: string, options: NamespaceOption & { revision?: string }, command: Command) => {
      const session = await sessionFor(command);
      const { namespace, workload } = await readWorkload(session, name, options);
      const { items } = await session.client.history(namespace, name);
      const revision = parseRevision(options.revision);
      if (revision !== undefined) return void process.stdout.write(formatDocument(undoTarget(items, 0, revision).spec, 'yaml'));
      const now = Date.now();
      const rows = items.map((h, i) => [String(h.generation), age(h.createdAt, now), changedFields(items[i - 1]?.spec, h.spec), h.generation === workload.metadata.generation ? '(current)' : '']);
      print(`${objectRef('Workload', name)}\n${formatTable(['REVISION', 'AGE', 'CHANGED', ''], rows)}`);
    });

  rollout
    .command('undo')
    .description('go back to an earlier spec: writes it as a new generation, which rolls out like any change')
    .argument('<workload>', 'workload name')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .option('--to-revision <n>', 'the generation to go back to (default: the one before the current)')
    .addHelpText('after', examples('lattice rollout undo web', 'lattice rollout undo web --to-revision 1'))
    .action(async (name: string, options: NamespaceOption & { toRevision?: string }, command: Command) => {
      const session = await sessionFor(command);
      const { namespace, workload } = await readWorkload(session, name, options);
      const { items } = await session.client.history(namespace, name);
      const target = undoTarget(items, workload.metadata.generation ?? 1, parseRevision(options.toRevision));
      const updated = await writeSpec(session, namespace, workload, target.spec as WorkloadSpec);
      if (updated.metadata.generation === workload.metadata.generation) return print(`${objectRef('Workload', name)} unchanged: generation ${target.generation} has the current spec`);
      print(`${objectRef('Workload', name)} rolled back to generation ${target.generation} (now generation ${updated.metadata.generation})`);
    });

  rollout
    .command('restart')
    .description('restart every instance of a workload, one at a time (a rolling restart, like kubectl rollout restart)')
    .argument('<workload>', 'workload name')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .addHelpText('after', `\nSets spec.restartedAt to now: a new template, rolled out surge-first like any update.\n${examples('lattice rollout restart web')}`)
    .action(async (name: string, options: NamespaceOption, command: Command) => {
      const session = await sessionFor(command);
      const { namespace, workload } = await readWorkload(session, name, options);
      const updated = await writeSpec(session, namespace, workload, { ...workload.spec, restartedAt: new Date().toISOString() });
      print(`${objectRef('Workload', name)} restarted (generation ${updated.metadata.generation})`);
    });

  program
    .command('scale')
    .description('set the number of replicas of a workload (0 stops it without deleting it)')
    .argument('<workload>', 'workload name (or workload/NAME)')
    .requiredOption('--replicas <n>', 'replicas wanted, 0 to 1000')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .addHelpText('after', `\nA later apply of the workload's manifest sets spec.replicas back to the manifest's value.\n${examples('lattice scale web --replicas 3', 'lattice scale web --replicas 0')}`)
    .action(async (nameArg: string, options: NamespaceOption & { replicas: string }, command: Command) => {
      const name = nameArg.replace(/^(workloads?|wl)\//, '');
      const replicas = Number(options.replicas);
      if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > 1000) throw new CliError(`--replicas must be a whole number from 0 to 1000, got ${JSON.stringify(options.replicas)}`);
      const session = await sessionFor(command);
      const { namespace, workload } = await readWorkload(session, name, options);
      if (workload.spec.replicas === replicas) return print(`${objectRef('Workload', name)} unchanged: already ${replicas} replicas`);
      await writeSpec(session, namespace, workload, { ...workload.spec, replicas });
      print(`${objectRef('Workload', name)} scaled to ${replicas}`);
    });
}
