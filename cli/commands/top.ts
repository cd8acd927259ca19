// `lattice top [workloads|instances|agents]` (kubectl top): CPU and memory as the agents measure them.
import type { Command } from 'commander';
import type { Agent, Workload } from '../../schemas/types.gen.ts';
import { examples, print, sessionFor } from '../command-kit.ts';
import { CliError } from '../errors.ts';
import { formatTable } from '../output/table.ts';
import { TOP_KINDS, topTable, type TopKind } from '../output/top.ts';

async function top(kindWord: string, options: { namespace?: string }, command: Command): Promise<void> {
  const kind = TOP_KINDS.find((k) => k === kindWord || k.replace(/s$/, '') === kindWord);
  if (!kind) throw new CliError(`top shows ${TOP_KINDS.join(', ')}, not ${JSON.stringify(kindWord)}`);
  const session = await sessionFor(command);
  const namespace = options.namespace ?? (await session.namespace());
  const [workloads, agents] = await Promise.all([
    session.client.list<Workload>('workloads', { namespace }),
    kind === 'agents' ? session.client.list<Agent>('agents') : Promise.resolve({ items: [] as Agent[] }),
  ]);
  const usage = await Promise.all(workloads.items.map(async (workload) => ({ workload, stats: await session.client.stats(namespace, workload.metadata.name) })));
  const { header, rows } = topTable(kind as TopKind, usage, agents.items);
  print(rows.length > 0 ? formatTable(header, rows) : `No ${kind} to measure in namespace ${namespace}.`);
}

export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description('CPU and memory in use, as the agents measure them: per workload (summed), per instance, or per agent (your instances)')
    .argument('[kind]', TOP_KINDS.join(' | '), 'workloads')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .addHelpText('after', examples('lattice top', 'lattice top instances', 'lattice top agents'))
    .action(top);
}
