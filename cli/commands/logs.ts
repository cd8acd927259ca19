// `lattice logs WORKLOAD`: a workload's log, streamed from the agents through the control plane.
import type { Command } from 'commander';
import { sessionFor } from '../command-kit.ts';

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--tail takes a number of lines (0 or more), got ${JSON.stringify(value)}`);
  return n;
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("print a workload's log (all its instances, each line prefixed with the instance when there are several)")
    .argument('<workload>', 'workload name')
    .option('-f, --follow', 'keep printing new lines until the instance stops (Ctrl-C to quit)', false)
    .option('--tail <n>', 'only the last n lines (of each instance)', nonNegativeInteger)
    .option('-p, --previous', 'the run before the last restart (e.g. the one that crashed)', false)
    .option('-i, --instance <name>', 'one instance only')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .action(async (workload: string, options: { follow: boolean; tail?: number; previous: boolean; instance?: string; namespace?: string }, command: Command) => {
      // The context as every other command selects it (--context, LATTICE_CONTEXT, the current
      // one), its access token refreshed when it has expired.
      const session = await sessionFor(command);
      const client = session.client;
      const namespace = options.namespace ?? (await session.namespace());
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      try {
        for await (const text of client.logs(namespace, workload, { follow: options.follow, previous: options.previous, tail: options.tail, instance: options.instance }, abort.signal)) {
          process.stdout.write(text);
        }
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      }
    });
}
