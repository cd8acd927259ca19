// `lattice gitops DIR`: keep a directory of manifests applied. chokidar reports changes (a burst
// of them, as a checkout makes, is debounced into one sync); every interval the whole directory is
// applied again, which puts back whatever was changed by hand (drift). One sync at a time.
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { examples, print, sessionFor } from '../command-kit.ts';
import { parseDuration } from '../duration.ts';
import { CliError } from '../errors.ts';
import { GitOpsSync, formatReport, type SyncReport, type SyncTrigger } from '../gitops/gitops-sync.ts';

interface GitOpsOptions {
  prune?: boolean;
  interval: string;
  applyset?: string;
  once?: boolean;
  namespace?: string;
  debounce: string;
}

const APPLY_SET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** gitops-<directory name>, made a valid apply set name. */
export function defaultApplySet(dir: string): string {
  const base = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `gitops-${base || 'root'}`.slice(0, 63).replace(/-+$/, '');
}

function failed(report: SyncReport): boolean {
  return report.failure !== undefined || report.problems.length > 0;
}

async function gitops(dir: string, options: GitOpsOptions, command: Command): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new CliError(`${dir} is not a directory of manifests`);
  const applySet = options.applyset ?? defaultApplySet(dir);
  if (!APPLY_SET_NAME.test(applySet) || applySet.length > 63) throw new CliError(`--applyset must be at most 63 lowercase letters, digits and '-', got ${JSON.stringify(applySet)}`);
  const intervalMs = parseDuration(options.interval, '--interval');
  const debounceMs = parseDuration(options.debounce, '--debounce');
  if (intervalMs < 1000) throw new CliError('--interval must be at least 1s');
  const session = await sessionFor(command);
  const syncer = new GitOpsSync(session, { dir, applySet, prune: Boolean(options.prune), ...(options.namespace ? { namespace: options.namespace } : {}) });

  if (options.once) {
    const report = await syncer.sync('start');
    print(formatReport(report));
    if (failed(report)) process.exitCode = 1;
    return;
  }

  let running: Promise<void> | undefined;
  let queued: SyncTrigger | undefined;
  const run = (trigger: SyncTrigger): void => {
    if (running) {
      // A change outranks an interval: the line then says why the sync ran.
      queued = queued === 'change' ? queued : trigger;
      return;
    }
    running = syncer
      .sync(trigger)
      .then((report) => print(formatReport(report)))
      .catch((error: unknown) => print(`sync (${trigger}) failed: ${(error as Error).message}`))
      .finally(() => {
        running = undefined;
        const next = queued;
        queued = undefined;
        if (next) run(next);
      });
  };

  // Loaded here: the other commands start faster without it.
  const { watch } = await import('chokidar');
  const watcher = watch(resolve(dir), {
    ignoreInitial: true,
    // Hidden entries (.git, editors' swap files) are not manifests.
    ignored: (path: string) => path !== resolve(dir) && basename(path).startsWith('.'),
  });
  let debounce: NodeJS.Timeout | undefined;
  watcher.on('all', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => run('change'), debounceMs);
  });
  watcher.on('error', (error) => print(`watching ${dir} failed: ${(error as Error).message}; the interval sync goes on`));
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));
  print(`gitops: watching ${dir} (apply set ${applySet}${options.prune ? ', prune' : ''}, every ${options.interval}), server ${session.context.server}`);
  run('start');
  const timer = setInterval(() => run('interval'), intervalMs);

  await new Promise<void>((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  clearTimeout(debounce);
  queued = undefined;
  await watcher.close();
  await running;
}

export function registerGitOpsCommand(program: Command): void {
  program
    .command('gitops')
    .description('keep a directory of manifests applied: on every change, and every interval to correct drift')
    .argument('<dir>', 'directory of .yaml, .yml and .json manifests (subdirectories included, hidden entries skipped)')
    .option('--prune', 'delete objects this loop applied whose manifests left the directory (by inventory: never anything else)')
    .addOption(new Option('--interval <duration>', 'apply everything again this often (drift correction)').default('30s'))
    .option('--applyset <name>', 'name of the inventory of what this directory applied (default: gitops-<directory name>)')
    .option('--once', 'sync once and exit: status 0 when everything applied, 1 when anything failed (for CI)')
    .option('-n, --namespace <ns>', 'namespace for objects that do not set metadata.namespace (default: your own)')
    .addOption(new Option('--debounce <duration>', 'wait this long after a change for more before syncing').default('300ms'))
    .addHelpText(
      'after',
      `\nEach sync prints one status line (the directory's revision, a digest of its files; the store
revision; what was applied, unchanged, pruned; errors), then a line per change and per broken file.
A broken file is reported with its path and the validation message; the others still sync, and the
objects it held keep their last good state.
${examples('lattice gitops examples/gitops --prune', 'lattice gitops ./deploy --prune --interval 1m --applyset site', 'lattice gitops ./deploy --once')}`,
    )
    .action(gitops);
}
