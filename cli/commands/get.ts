// `lattice get KIND [NAME]`: tables like kubectl's, YAML/JSON documents, and -w to follow changes.
import { Option, type Command } from 'commander';
import type { KindInfo } from '../../schemas/kinds.ts';
import type { Instance, ServedLatticeObject } from '../../schemas/types.gen.ts';
import { WORKLOAD_LABEL } from '../../schemas/labels-and-finalizers.ts';
import { examples, print, sessionFor } from '../command-kit.ts';
import { CliError } from '../errors.ts';
import { KIND_HELP, kindAndName, objectRef } from '../kinds.ts';
import { tablePrinter, type RowContext } from '../output/columns.ts';
import { asList, formatDocument, type DocumentFormat } from '../output/objects.ts';
import { columnWidths, formatRow } from '../output/table.ts';
import type { Session } from '../session.ts';
import { watchLoop } from '../watch-loop.ts';

const FORMATS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
type Format = (typeof FORMATS)[number];

interface GetOptions {
  output: Format;
  selector?: string;
  namespace?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  showSecrets?: boolean;
}

/** Restarts per workload ("namespace/name"), summed over its instances. */
async function workloadRestarts(session: Session, namespace: string | undefined, workload?: string): Promise<Map<string, number>> {
  const list = await session.client.list<Instance>('instances', { ...(namespace ? { namespace } : {}), ...(workload ? { labelSelector: `${WORKLOAD_LABEL}=${workload}` } : {}) });
  const restarts = new Map<string, number>();
  for (const i of list.items) {
    if (i.metadata.deletionTimestamp) continue;
    const key = `${i.metadata.namespace}/${i.spec.workload}`;
    restarts.set(key, (restarts.get(key) ?? 0) + (i.status?.restarts ?? 0));
  }
  return restarts;
}

function sortObjects(info: KindInfo, items: ServedLatticeObject[]): ServedLatticeObject[] {
  if (info.kind === 'Event') {
    const time = (o: ServedLatticeObject) => ((o.spec as { lastTimestamp?: string }).lastTimestamp ?? o.metadata.creationTimestamp ?? '');
    return [...items].sort((a, b) => time(a).localeCompare(time(b)));
  }
  return [...items].sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
}

async function get(kindWord: string, nameArg: string | undefined, options: GetOptions, command: Command): Promise<void> {
  const { info, name } = kindAndName(kindWord, nameArg);
  if (options.namespace && options.allNamespaces) throw new CliError('use either -n NAMESPACE or -A, not both');
  if (options.showSecrets && !name) throw new CliError('--show-secrets needs a NAME: values are shown one object at a time');
  const session = await sessionFor(command);
  const namespace = info.namespaced && !options.allNamespaces ? (options.namespace ?? (await session.namespace())) : undefined;
  let items: ServedLatticeObject[];
  let resourceVersion: string | undefined;
  if (name) {
    const object = await session.client.get(info.plural, namespace, name, options.showSecrets ? { showSecrets: true } : {});
    items = [object];
    resourceVersion = object.metadata.resourceVersion;
  } else {
    const list = await session.client.list(info.plural, { ...(namespace ? { namespace } : {}), ...(options.selector ? { labelSelector: options.selector } : {}) });
    items = sortObjects(info, list.items);
    resourceVersion = list.metadata.resourceVersion;
  }

  const table = options.output === 'table' || options.output === 'wide';
  const printer = tablePrinter(info.kind, { wide: options.output === 'wide', namespaced: info.namespaced && Boolean(options.allNamespaces) });
  const rowContext = async (workload?: ServedLatticeObject): Promise<RowContext> => ({
    now: Date.now(),
    restarts: table && info.kind === 'Workload' ? await workloadRestarts(session, workload?.metadata.namespace ?? namespace, workload?.metadata.name) : new Map(),
  });
  let widths: number[] = [];
  if (table) {
    if (items.length === 0 && !options.watch) {
      process.stderr.write(`No ${info.plural} found${namespace ? ` in namespace ${namespace}` : ''}.\n`);
      return;
    }
    const context = await rowContext();
    const rows = [printer.header, ...items.map((o) => printer.row(o, context))];
    widths = columnWidths(rows);
    print(rows.map((r) => formatRow(r, widths)).join('\n'));
  } else if (options.output === 'name') {
    for (const o of items) print(objectRef(o.kind, o.metadata.name));
  } else {
    process.stdout.write(formatDocument(name ? items[0] : asList(items), options.output as DocumentFormat));
  }
  if (!options.watch) return;

  const loop = watchLoop(session, { kind: info.kind, ...(namespace ? { namespace } : {}), ...(options.selector && !name ? { labelSelector: options.selector } : {}), ...(resourceVersion ? { resourceVersion } : {}) });
  const stop = () => loop.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  for await (const event of loop) {
    if (name && event.object.metadata.name !== name) continue;
    if (table) print(formatRow(printer.row(event.object, await rowContext(event.object)), widths));
    else if (options.output === 'name') print(objectRef(event.object.kind, event.object.metadata.name));
    else process.stdout.write(options.output === 'yaml' ? `---\n${formatDocument(event.object, 'yaml')}` : formatDocument(event.object, 'json'));
  }
}

export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('list objects of a kind, or show one')
    .argument('<kind>', `${KIND_HELP}; or KIND/NAME`)
    .argument('[name]', 'one object (default: all of the kind)')
    .addOption(new Option('-o, --output <format>', 'table, wide (more columns), yaml, json (both apply -f can read back) or name').choices(FORMATS).default('table'))
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=cache')
    .option('-n, --namespace <ns>', 'namespace (default: your own)')
    .option('-A, --all-namespaces', 'every namespace you belong to')
    .option('-w, --watch', 'after listing, print every change as it happens (Ctrl-C stops)')
    .option('--show-secrets', "show a Secret's values (with NAME only)")
    .addHelpText(
      'after',
      `\nWorkloads show NAME READY STATUS RESTARTS AGE (-o wide adds ENDPOINTS and IMAGE/COMMAND).
${examples('lattice get workloads', 'lattice get wl web -o yaml > web.yaml', 'lattice get instances -l lattice.dev/workload=web -o wide', 'lattice get agents', 'lattice get wl -A -w')}`,
    )
    .action(get);
}
