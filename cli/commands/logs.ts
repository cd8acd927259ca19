// `lattice logs WORKLOAD`: a workload's log, streamed from the agents through the control plane.
import type { Command } from 'commander';
import { LatticeClient } from '../../client/api-client.ts';
import { resolveContext } from '../context.ts';

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
    .option('--context <name>', 'CLI context to use (default: the current one)')
    .action(async (workload: string, options: { follow: boolean; tail?: number; previous: boolean; instance?: string; namespace?: string; context?: string }) => {
      const context = resolveContext(options.context);
      const client = new LatticeClient({ server: context.server, token: context.token });
      const namespace = options.namespace ?? context.username ?? (await client.whoami()).namespaces[0];
      if (!namespace) throw new Error('you belong to no namespace: pass --namespace');
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
