// What `apply --wait` says when a workload's process exits or crash-loops instead of coming up:
// the instance, its exit code and restarts, and the last lines it printed (the run that crashed).
import type { Instance } from '../schemas/types.gen.ts';
import { WORKLOAD_LABEL } from '../schemas/labels-and-finalizers.ts';
import type { Session } from './session.ts';

const LAST_LINES = 10;

/**
 * Restarts of each instance when the wait began: a crash is a restart after that, or an exit
 * (an instance that stopped and will not start again), so an old crash loop being fixed by
 * this very apply is not reported.
 */
export type RestartBaseline = Map<string, number>;

export async function crashReport(session: Session, namespace: string, workload: string, baseline: RestartBaseline): Promise<string | undefined> {
  const { items } = await session.client.list<Instance>('instances', { namespace, labelSelector: `${WORKLOAD_LABEL}=${workload}` });
  const live = items.filter((i) => !i.metadata.deletionTimestamp);
  for (const instance of live) if (!baseline.has(instance.metadata.uid!)) baseline.set(instance.metadata.uid!, instance.status?.restarts ?? 0);
  const crashed = live.find((i) => i.status?.state === 'Exited' || i.status?.state === 'Failed' || (i.status?.restarts ?? 0) > baseline.get(i.metadata.uid!)!);
  if (!crashed) return undefined;
  const status = crashed.status!;
  const how = status.exitCode !== undefined ? `exited with code ${status.exitCode}` : (status.message ?? `is ${status.state}`);
  const restarts = status.restarts ? ` (restarted ${status.restarts} time${status.restarts === 1 ? '' : 's'})` : '';
  const lines = await lastLines(session, namespace, workload, crashed);
  return `instance ${crashed.metadata.name} ${how}${restarts}${lines ? `; its last lines:\n${lines}` : ''}`;
}

/** The crashed run's last lines: the previous run when it was restarted since, else the current one. */
async function lastLines(session: Session, namespace: string, workload: string, instance: Instance): Promise<string> {
  const read = async (previous: boolean) => {
    let text = '';
    for await (const chunk of session.client.logs(namespace, workload, { instance: instance.metadata.name, tail: LAST_LINES, previous })) text += chunk;
    return text;
  };
  const restarted = (instance.status?.restarts ?? 0) > 0 && instance.status?.state !== 'Exited' && instance.status?.state !== 'Failed';
  const text = await read(restarted).catch(() => (restarted ? read(false) : '')).catch(() => '');
  return text
    .trimEnd()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `  ${line}`)
    .join('\n');
}
