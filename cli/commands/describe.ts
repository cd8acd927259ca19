// `lattice describe KIND NAME`: one object with its conditions, instances, endpoints and events.
// Per-instance CPU and memory are not shown yet: they need the stats endpoint (issue 5).
import type { Command } from 'commander';
import type { Agent, Event, Instance, Secret, Workload } from '../../schemas/types.gen.ts';
import { WORKLOAD_LABEL } from '../../reconciler/instance-state.ts';
import { examples, print, sessionFor } from '../command-kit.ts';
import { CliError } from '../errors.ts';
import { KIND_HELP, kindAndName } from '../kinds.ts';
import { describeAgent, describeEvent, describeInstance, describeSecret, describeWorkload } from '../output/describe.ts';
import type { Session } from '../session.ts';


async function eventsAbout(session: Session, namespace: string, kind: string, name: string): Promise<Event[]> {
  const list = await session.client.list<Event>('events', { namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return list.items;
}

async function describe(kindWord: string, nameArg: string | undefined, options: { namespace?: string }, command: Command): Promise<void> {
  const { info, name } = kindAndName(kindWord, nameArg);
  if (!name) throw new CliError(`describe needs a name: lattice describe ${info.plural.replace(/s$/, '')} NAME (\`lattice get ${info.plural}\` lists them)`);
  const session = await sessionFor(command);
  const namespace = info.namespaced ? (options.namespace ?? (await session.namespace())) : undefined;
  const object = await session.client.get(info.plural, namespace, name);
  switch (info.kind) {
    case 'Workload': {
      const [instances, events] = await Promise.all([
        session.client.list<Instance>('instances', { namespace: namespace!, labelSelector: `${WORKLOAD_LABEL}=${name}` }),
        eventsAbout(session, namespace!, 'Workload', name),
      ]);
      return print(describeWorkload(object as Workload, instances.items, events));
    }
    case 'Instance':
      return print(describeInstance(object as Instance, await eventsAbout(session, namespace!, 'Instance', name)));
    case 'Agent': {
      const instances = await session.client.list<Instance>('instances');
      return print(describeAgent(object as Agent, instances.items.filter((i) => i.spec.agent === name)));
    }
    case 'Secret':
      return print(describeSecret(object as Secret, await eventsAbout(session, namespace!, 'Secret', name)));
    case 'Event':
      return print(describeEvent(object as Event));
  }
}

export function registerDescribeCommand(program: Command): void {
  program
    .command('describe')
    .description('show one object in detail: spec summary, conditions, instances, endpoints and events')
    .argument('<kind>', `${KIND_HELP}; or KIND/NAME`)
    .argument('[name]', 'the object')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .addHelpText('after', examples('lattice describe workload web', 'lattice describe wl/web', 'lattice describe agent laptop'))
    .action(describe);
}
