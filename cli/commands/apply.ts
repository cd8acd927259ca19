// `lattice apply` and `lattice diff`: server-side apply of manifest files, for real or as a dry run.
import { Option, type Command } from 'commander';
import { LatticeApiError } from '../../client/api-client.ts';
import type { ApplyParams } from '../../client/api-client.ts';
import type { ApplyResult, ApplyResultItem, FieldChange, PlacementPlan } from '../../schemas/types.gen.ts';
import { collect, examples, print, sessionFor } from '../command-kit.ts';
import { parseDuration } from '../duration.ts';
import { CliError, explain } from '../errors.ts';
import { objectRef } from '../kinds.ts';
import { describeProblems, loadManifests, type Manifest } from '../manifests.ts';
import type { Session } from '../session.ts';
import { waitForWorkloads } from '../wait.ts';

interface SourceOptions {
  filename?: string[];
  recursive?: boolean;
  namespace?: string;
  prune?: boolean;
  applyset?: string;
}

interface ApplyOptions extends SourceOptions {
  dryRun?: boolean;
  ifRevision?: string;
  wait?: boolean;
  timeout: string;
}

function fileOptions(command: Command): Command {
  return command
    .option('-f, --filename <path>', 'a manifest file, a directory of them (.yaml, .yml, .json), or - for stdin; repeatable', collect)
    .option('-R, --recursive', 'include the subdirectories of directories given with -f')
    .option('-n, --namespace <ns>', 'namespace for objects that do not set metadata.namespace (default: your own)')
    .option('--prune', 'delete what was applied under --applyset before and is missing from the files now')
    .option('--applyset <name>', 'remember what this apply wrote under NAME, so a later --prune can remove what left the files');
}

/** Manifests, then the request: problems in the files are reported before anything is sent. */
async function runApply(options: SourceOptions, params: ApplyParams, command: Command): Promise<{ session: Session; manifests: Manifest[]; result: ApplyResult }> {
  if (options.prune && !options.applyset) throw new CliError('--prune needs --applyset NAME: only objects applied under that name are ever pruned');
  const manifests = loadManifests(options.filename ?? [], Boolean(options.recursive));
  if (options.namespace) {
    for (const { object } of manifests) if (object.metadata && object.metadata.namespace === undefined) object.metadata.namespace = options.namespace;
  }
  const session = await sessionFor(command);
  try {
    const result = await session.client.apply(
      manifests.map((m) => m.object),
      { ...params, ...(options.applyset ? { applySet: options.applyset } : {}), ...(options.prune ? { prune: true } : {}) },
    );
    return { session, manifests, result };
  } catch (error) {
    if (error instanceof LatticeApiError && error.status < 500) {
      const lines = describeProblems(error.body, manifests.map((m) => m.source));
      throw new CliError(`the apply was refused (${error.status} ${error.body.reason}), nothing was changed:\n  ${lines.join('\n  ')}`);
    }
    throw error;
  }
}

async function apply(options: ApplyOptions, command: Command): Promise<void> {
  let ifRevision: number | undefined;
  if (options.ifRevision !== undefined) {
    ifRevision = Number(options.ifRevision);
    if (!Number.isSafeInteger(ifRevision) || ifRevision < 0) throw new CliError(`--if-revision must be a store revision (a whole number), got ${JSON.stringify(options.ifRevision)}`);
  }
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const { session, result } = await runApply(options, { dryRun: Boolean(options.dryRun), ...(ifRevision !== undefined ? { ifRevision } : {}) }, command);
  for (const item of result.results) print(`${objectRef(item.kind, item.name)} ${item.action}${result.dryRun ? ' (dry run)' : ''}`);
  if (options.wait && !options.dryRun) {
    const workloads = result.results.filter((r) => r.kind === 'Workload' && r.action !== 'pruned').map((r) => ({ namespace: r.namespace!, name: r.name }));
    await waitForWorkloads(session, workloads, timeoutMs, print);
  }
}

function value(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined';
}

export function formatChange(change: FieldChange): string {
  const path = change.path || '(object)';
  if (change.op === 'add') return `+ ${path}: ${value(change.after)}`;
  if (change.op === 'remove') return `- ${path}: ${value(change.before)}`;
  return `~ ${path}: ${value(change.before)} → ${value(change.after)}`;
}

export function formatPlacement(plan: PlacementPlan): string[] {
  const lines = plan.agents.map((a) => {
    const parts = [a.deploy > 0 && `deploy ${a.deploy}`, a.keep > 0 && `keep ${a.keep}`, ...a.stop.map((s) => `stop ${s.instance} (${s.reason === 'Replaced' ? 'replaced' : 'scaled down'})`)].filter(Boolean);
    return `agent ${a.agent}: ${parts.join(', ') || 'nothing'}`;
  });
  for (const p of plan.pending) lines.push(`pending ${p.replicas} replica${p.replicas === 1 ? '' : 's'}: ${p.reason}`);
  return lines;
}

function formatItem(item: ApplyResultItem): string[] {
  const lines = [`${objectRef(item.kind, item.name)} ${item.action}${item.namespace ? ` (namespace ${item.namespace})` : ''}`];
  for (const change of item.diff ?? []) lines.push(`  ${formatChange(change)}`);
  if (item.placement) lines.push('  placement once rolled out:', ...formatPlacement(item.placement).map((l) => `    ${l}`));
  return lines;
}

/** Exit 0: nothing would change; 1: something would; 2 and above: the diff itself failed. */
async function diff(options: SourceOptions, command: Command): Promise<void> {
  try {
    const { result } = await runApply(options, { dryRun: true }, command);
    const changed = result.results.filter((r) => r.action !== 'unchanged');
    for (const item of changed) print(formatItem(item).join('\n'));
    process.exitCode = changed.length > 0 ? 1 : 0;
  } catch (error) {
    for (const line of explain(error)) process.stderr.write(`${line}\n`);
    process.exitCode = 2;
  }
}

export function registerApplyCommands(program: Command): void {
  fileOptions(program.command('apply'))
    .description('create or update objects from manifests (server-side apply): prints workload/NAME created|configured|unchanged|pruned')
    .option('--dry-run', 'validate and show what would happen, write nothing')
    .option('--if-revision <n>', 'refuse (409) if anything this apply touches changed after store revision N')
    .option('--wait', 'wait until every applied workload has rolled out: its generation observed and phase Running (or Failed)')
    .addOption(new Option('--timeout <duration>', 'how long --wait waits').default('5m'))
    .addHelpText(
      'after',
      examples(
        'lattice apply -f examples/hello.yaml',
        'lattice apply -f manifests/ -R --applyset site --prune',
        'cat web.yaml | lattice apply -f - --dry-run',
        'lattice apply -f web.yaml --wait --timeout 2m',
      ),
    )
    .action(apply);

  fileOptions(program.command('diff'))
    .description('show what apply would change: field by field, and for workloads where instances would run')
    .addHelpText(
      'after',
      `\nExit status, as kubectl diff: 0 nothing would change, 1 something would, 2 the diff failed.
${examples('lattice diff -f examples/hello.yaml', 'lattice diff -f manifests/ -R --applyset site --prune   # includes what would be pruned')}`,
    )
    .action(diff);
}
