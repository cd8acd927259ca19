// `lattice delete -f FILE | KIND NAME`: a Workload goes once its instances have stopped, so
// deletion may be accepted (202) before the object is gone; --wait waits for that.
import { Option, type Command } from 'commander';
import { LatticeApiError } from '../../client/api-client.ts';
import { KINDS, isKindName } from '../../schemas/kinds.ts';
import type { LatticeObject } from '../../schemas/types.gen.ts';
import { collect, examples, print, sessionFor } from '../command-kit.ts';
import { parseDuration } from '../duration.ts';
import { CliError } from '../errors.ts';
import { KIND_HELP, kindAndName, objectRef } from '../kinds.ts';
import { loadManifests, sourceText } from '../manifests.ts';
import { waitForDeletion } from '../wait.ts';

interface DeleteOptions {
  filename?: string[];
  recursive?: boolean;
  namespace?: string;
  wait?: boolean;
  timeout: string;
  ignoreNotFound?: boolean;
}

interface Target {
  kind: string;
  plural: string;
  /** Absent for a cluster-scoped object (an Agent). */
  namespace: string | undefined;
  name: string;
}

async function remove(kindWord: string | undefined, nameArg: string | undefined, options: DeleteOptions, command: Command): Promise<void> {
  const timeoutMs = parseDuration(options.timeout, '--timeout');
  const fromFiles = (options.filename ?? []).length > 0;
  if (fromFiles && kindWord) throw new CliError('give either -f FILE or KIND NAME, not both');
  if (!fromFiles && !kindWord) throw new CliError('what to delete? lattice delete -f FILE, or lattice delete KIND NAME');
  const session = await sessionFor(command);
  const fallbackNamespace = options.namespace ?? (await session.namespace());
  const targets: Target[] = [];
  if (fromFiles) {
    for (const { object, source } of loadManifests(options.filename!, Boolean(options.recursive))) {
      if (!isKindName(object.kind) || typeof object.metadata?.name !== 'string') throw new CliError(`${sourceText(source)}: needs a known kind and metadata.name`);
      const info = KINDS[object.kind];
      targets.push({ kind: info.kind, plural: info.plural, namespace: typeof object.metadata.namespace === 'string' ? object.metadata.namespace : fallbackNamespace, name: object.metadata.name });
    }
  } else {
    const { info, name } = kindAndName(kindWord!, nameArg);
    if (!name) throw new CliError(`name the ${info.kind} to delete: lattice delete ${info.plural} NAME`);
    targets.push({ kind: info.kind, plural: info.plural, namespace: info.namespaced ? fallbackNamespace : undefined, name });
  }
  const waiting: (Target & { namespace: string; resourceVersion: string })[] = [];
  let missing = 0;
  for (const target of targets) {
    const ref = objectRef(target.kind, target.name);
    let object: LatticeObject;
    try {
      object = await session.client.delete(target.plural, target.namespace, target.name);
    } catch (error) {
      if (error instanceof LatticeApiError && error.status === 404) {
        missing += 1;
        if (options.ignoreNotFound) continue;
        process.stderr.write(`error: ${ref} not found${target.namespace ? ` in namespace ${target.namespace}` : ''}\n`);
        continue;
      }
      throw error;
    }
    // Without a deletionTimestamp the object is gone already; with one, finalizers hold it.
    if (object.metadata.deletionTimestamp && target.namespace) {
      print(`${ref} deletion requested (its instances are stopping)`);
      waiting.push({ ...target, namespace: target.namespace, resourceVersion: object.metadata.resourceVersion! });
    } else print(`${ref} deleted`);
  }
  if (options.wait) {
    for (const kind of new Set(waiting.map((w) => w.kind))) await waitForDeletion(session, kind, waiting.filter((w) => w.kind === kind), timeoutMs);
    for (const w of waiting) print(`${objectRef(w.kind, w.name)} deleted`);
  }
  if (missing > 0 && !options.ignoreNotFound) throw new CliError(`${missing} of ${targets.length} object${targets.length === 1 ? '' : 's'} not found (--ignore-not-found to accept that)`);
}

export function registerDeleteCommand(program: Command): void {
  program
    .command('delete')
    .description('delete the objects of manifest files, or one object by kind and name')
    .argument('[kind]', `${KIND_HELP}; or KIND/NAME`)
    .argument('[name]', 'the object')
    .option('-f, --filename <path>', 'delete what these manifests name (file, directory or -); repeatable', collect)
    .option('-R, --recursive', 'include the subdirectories of directories given with -f')
    .option('-n, --namespace <ns>', 'namespace (default: your own, or the manifest’s)')
    .option('--wait', 'wait until the objects are gone (a workload once its instances have stopped)')
    .addOption(new Option('--timeout <duration>', 'how long --wait waits').default('2m'))
    .option('--ignore-not-found', 'succeed when an object does not exist')
    .addHelpText('after', examples('lattice delete workload web --wait', 'lattice delete -f examples/hello.yaml', 'lattice delete wl/web', 'lattice delete agent laptop   # revokes its credential; what it ran is replaced elsewhere'))
    .action(remove);
}
