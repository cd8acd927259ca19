// The kinds the CLI names, with kubectl-style aliases: `get wl`, `describe workload/web`.
import { KINDS, type KindInfo, type KindName } from '../schemas/kinds.ts';
import { CliError } from './errors.ts';

const ALIASES: Readonly<Record<string, KindName>> = {
  workload: 'Workload',
  workloads: 'Workload',
  wl: 'Workload',
  instance: 'Instance',
  instances: 'Instance',
  inst: 'Instance',
  agent: 'Agent',
  agents: 'Agent',
  secret: 'Secret',
  secrets: 'Secret',
  event: 'Event',
  events: 'Event',
  ev: 'Event',
};

export const KIND_HELP = 'workloads (wl), instances (inst), agents, secrets, events (ev)';

export function resolveKind(word: string): KindInfo {
  const kind = ALIASES[word.toLowerCase()] ?? (Object.hasOwn(KINDS, word) ? (word as KindName) : undefined);
  if (!kind) throw new CliError(`unknown kind ${JSON.stringify(word)}: use one of ${KIND_HELP}`);
  return KINDS[kind];
}

/** `KIND NAME` or `KIND/NAME` (as kubectl takes both). */
export function kindAndName(kindWord: string, name: string | undefined): { info: KindInfo; name: string | undefined } {
  const slash = kindWord.indexOf('/');
  if (slash < 0) return { info: resolveKind(kindWord), name };
  if (name !== undefined) throw new CliError(`give the name once: either ${kindWord} or ${kindWord.slice(0, slash)} ${name}`);
  return { info: resolveKind(kindWord.slice(0, slash)), name: kindWord.slice(slash + 1) || undefined };
}

/** How objects are named in output: workload/web. */
export function objectRef(kind: string, name: string): string {
  return `${kind.toLowerCase()}/${name}`;
}
