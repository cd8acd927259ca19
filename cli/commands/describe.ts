// `lattice describe KIND NAME`: one object with its conditions, instances (with the CPU and memory
// their agents measure), endpoints and events.
import type { Command } from 'commander';
import type { Agent, Instance, ServedEvent, ServedSecret, ServedWorkload } from '../../schemas/types.gen.ts';
import { WORKLOAD_LABEL } from '../../schemas/labels-and-finalizers.ts';
import { examples, print, sessionFor } from '../command-kit.ts';
import { CliError } from '../errors.ts';
import { KIND_HELP, kindAndName } from '../kinds.ts';
import { describeAgent, describeEvent, describeInstance, describeSecret, describeWorkload, usageByInstance } from '../output/describe.ts';
import type { Session } from '../session.ts';


/** Events about this very object: by uid too, so an earlier object of the same name keeps its own. */
async function eventsAbout(session: Session, namespace: string, kind: string, name: string, uid: string | undefined): Promise<ServedEvent[]> {
  const list = await session.client.list<ServedEvent>('events', { namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}${uid ? `,involvedObject.uid=${uid}` : ''}` });
  return list.items;
}

/** What the workload's instances use; nothing when the stats cannot be had (describe shows the rest). */
async function usageOf(session: Session, namespace: string, workload: string) {
  return usageByInstance(await session.client.stats(namespace, workload).catch(() => undefined));
}

async function describe(kindWord: string, nameArg: string | undefined, options: { namespace?: string }, command: Command): Promise<void> {
  const { info, name } = kindAndName(kindWord, nameArg);
  if (!name) throw new CliError(`describe needs a name: lattice describe ${info.plural.replace(/s$/, '')} NAME (\`lattice get ${info.plural}\` lists them)`);
  const session = await sessionFor(command);
  const namespace = info.namespaced ? (options.namespace ?? (await session.namespace())) : undefined;
  const object = await session.client.get(info.plural, namespace, name);
  switch (info.kind) {
    case 'Workload': {
      const [instances, events, usage] = await Promise.all([
        session.client.list<Instance>('instances', { namespace: namespace!, labelSelector: `${WORKLOAD_LABEL}=${name}` }),
        eventsAbout(session, namespace!, 'Workload', name, object.metadata.uid),
        usageOf(session, namespace!, name),
      ]);
      return print(describeWorkload(object as ServedWorkload, instances.items, events, usage));
    }
    case 'Instance': {
      const instance = object as Instance;
      const [events, usage] = await Promise.all([eventsAbout(session, namespace!, 'Instance', name, object.metadata.uid), usageOf(session, namespace!, instance.spec.workload)]);
      return print(describeInstance(instance, events, usage));
    }
    case 'Agent': {
      const instances = await session.client.list<Instance>('instances');
      return print(describeAgent(object as Agent, instances.items.filter((i) => i.spec.agent === name)));
    }
    case 'Secret':
      return print(describeSecret(object as ServedSecret, await eventsAbout(session, namespace!, 'Secret', name, object.metadata.uid)));
    case 'Event':
      return print(describeEvent(object as ServedEvent));
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
