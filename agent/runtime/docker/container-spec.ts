// An instance as Docker containers, both ways: the create options of one run (labels, env, ports,
// limits, volumes) and, after an agent restart, the DeploySpec read back from a container's labels
// and env. Pure, so the mapping is table-tested; docker-driver.ts does the I/O.
//
// Every run of an instance is its own container (like kubelet's): a restart creates a new one and
// keeps the previous for `logs --previous`. Labels carry everything needed to adopt them:
//   lattice.instance  the instance uid         lattice.run   0 for the first run, +1 per restart
//   lattice.workload  <namespace>/<workload>   lattice.spec  the DeploySpec without env (JSON)
//   lattice.ports     host ports of this run (host networking only, JSON)
// Volumes carry lattice.workload and lattice.volume: a volume is mounted only for the workload
// its labels name.
// Env is not in a label: it may hold secrets, and docker keeps it in the container's config anyway.
import type Docker from 'dockerode';
import { parseCpu, parseMemory } from '../../../schemas/quantity.ts';
import type { PortSpec } from '../../../schemas/types.gen.ts';
import type { HostPorts } from '../host-ports.ts';
import { portEnv } from '../host-ports.ts';
import type { DeploySpec } from '../types.ts';

export const LABEL = {
  instance: 'lattice.instance',
  run: 'lattice.run',
  workload: 'lattice.workload',
  spec: 'lattice.spec',
  ports: 'lattice.ports',
  volume: 'lattice.volume',
} as const;

/** Processes (threads included) one container may hold. */
export const PIDS_LIMIT = 1024;

/** bridge: ports published on the host by docker; host: the container shares the agent's network. */
export type DockerNetwork = 'bridge' | 'host';

export interface RunOptions {
  run: number;
  network: DockerNetwork;
  /** host networking: the port each containerPort listens on in this run. */
  hostPorts: HostPorts;
  /** bridge networking: the address published ports bind to. */
  publishAddress: string;
}

// Names are built from DNS labels joined by '.', which no label contains: two different
// (namespace, name) pairs never give one name, whatever '-' they hold ("bob" + "ice-db" and
// "bob-ice" + "db" once both gave lattice-bob-ice-db).

/** Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]*: lattice.<namespace>.<instance>.<run>. */
export function containerName(spec: Pick<DeploySpec, 'namespace' | 'name'>, run: number): string {
  return `lattice.${spec.namespace}.${spec.name}.${run}`;
}

/** Named volumes outlive instances: a redeploy (and a rolling update) mounts the same data. */
export function volumeName(spec: Pick<DeploySpec, 'namespace' | 'workload'>, volume: string): string {
  return `lattice.${spec.namespace}.${spec.workload}.${volume}`;
}

/** The labels a volume is created with: whose it is, checked before it is mounted again. */
export function volumeLabels(spec: Pick<DeploySpec, 'namespace' | 'workload'>, volume: string): Record<string, string> {
  return { [LABEL.workload]: `${spec.namespace}/${spec.workload}`, [LABEL.volume]: volume };
}

/** Why an existing volume must not be mounted for this workload (it is not provably its own), or undefined. */
export function volumeRefusal(spec: Pick<DeploySpec, 'namespace' | 'workload'>, volume: string, labels: Record<string, string> | null | undefined): string | undefined {
  const want = volumeLabels(spec, volume);
  if (Object.entries(want).every(([key, value]) => labels?.[key] === value)) return undefined;
  const owner = labels?.[LABEL.workload];
  return `volume ${volumeName(spec, volume)} exists but ${owner ? `belongs to ${owner}` : 'was not created by Lattice for this workload'}; it is not mounted (remove it on the agent to start afresh)`;
}

/** Ports a person can reach: expose host or tunnel. */
export function reachablePorts(ports: readonly PortSpec[] | undefined): PortSpec[] {
  return (ports ?? []).filter((port) => port.expose === 'host' || port.expose === 'tunnel');
}

export function createOptions(spec: DeploySpec, options: RunOptions): Docker.ContainerCreateOptions {
  const { template } = spec;
  const { env: _env, ...withoutEnv } = spec;
  const labels: Record<string, string> = {
    [LABEL.instance]: spec.uid,
    [LABEL.run]: String(options.run),
    [LABEL.workload]: `${spec.namespace}/${spec.workload}`,
    [LABEL.spec]: JSON.stringify(withoutEnv),
  };
  // PORT and PORT_<NAME>, as the process runtime sets them: the port to listen on.
  const listenPorts: HostPorts =
    options.network === 'host' ? options.hostPorts : Object.fromEntries((template.ports ?? []).map((p) => [String(p.containerPort), p.containerPort]));
  const env = { ...portEnv(template.ports, listenPorts), ...spec.env };
  const host: Docker.HostConfig = {
    NetworkMode: options.network,
    RestartPolicy: { Name: 'no' }, // the agent applies restartPolicy itself, with crash-loop backoff
    // A small init as PID 1 forwards SIGTERM (a shell or server as PID 1 would ignore it and only
    // die by SIGKILL after the grace period) and reaps zombies.
    Init: true,
    Mounts: (template.volumes ?? []).map((v) => ({ Type: 'volume' as const, Source: volumeName(spec, v.name), Target: v.mountPath })),
    // Whoever wrote the manifest: never privileged (not set), no host paths (named volumes only),
    // no gaining privileges through setuid binaries, and a bound on processes (a fork bomb stays
    // inside its container).
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: PIDS_LIMIT,
  };
  if (template.resources?.cpu) host.NanoCpus = parseCpu(template.resources.cpu) * 1_000_000;
  if (template.resources?.memory) {
    host.Memory = parseMemory(template.resources.memory);
    host.MemorySwap = host.Memory; // no swap beyond the limit, as in Kubernetes
  }
  const create: Docker.ContainerCreateOptions = {
    name: containerName(spec, options.run),
    Image: template.image,
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    Labels: labels,
    HostConfig: host,
    ...(template.workingDir !== undefined ? { WorkingDir: template.workingDir } : {}),
  };
  // As in Kubernetes: command replaces the entrypoint (and drops the image's cmd), args the cmd.
  if (template.command) {
    create.Entrypoint = template.command;
    create.Cmd = template.args ?? [];
  } else if (template.args) {
    create.Cmd = template.args;
  }
  if (options.network === 'host') {
    labels[LABEL.ports] = JSON.stringify(options.hostPorts);
  } else {
    // Every port is published on a host port docker picks (replicas never collide); ports nobody
    // may reach (expose none) on loopback only, where the agent's health checks still reach them.
    const reachable = new Set(reachablePorts(template.ports));
    const ports = template.ports ?? [];
    create.ExposedPorts = Object.fromEntries(ports.map((p) => [`${p.containerPort}/tcp`, {}]));
    host.PortBindings = Object.fromEntries(
      ports.map((p) => [`${p.containerPort}/tcp`, [{ HostIp: reachable.has(p) ? options.publishAddress : '127.0.0.1', HostPort: '' }]]),
    );
  }
  return create;
}

/** What labels and env of a container say about the run it belongs to; undefined if not ours or damaged. */
export interface RecoveredRun {
  spec: DeploySpec;
  run: number;
  hostPorts: HostPorts;
}

export function recoverRun(labels: Record<string, string> | undefined, env: readonly string[] | undefined): RecoveredRun | undefined {
  const uid = labels?.[LABEL.instance];
  const run = Number(labels?.[LABEL.run]);
  if (!uid || !Number.isSafeInteger(run) || run < 0) return undefined;
  let spec: Omit<DeploySpec, 'env'>;
  let hostPorts: HostPorts = {};
  try {
    spec = JSON.parse(labels[LABEL.spec] ?? '') as Omit<DeploySpec, 'env'>;
    const ports = labels[LABEL.ports];
    if (ports) hostPorts = JSON.parse(ports) as HostPorts;
  } catch {
    return undefined;
  }
  if (spec.uid !== uid || typeof spec.templateHash !== 'string' || !spec.template) return undefined;
  // The spec's env is exactly the variables the template names (the image's own env and PORT are not ours).
  const names = new Set((spec.template.env ?? []).map((e) => e.name));
  const recovered: Record<string, string> = {};
  for (const entry of env ?? []) {
    const cut = entry.indexOf('=');
    const name = cut < 0 ? entry : entry.slice(0, cut);
    if (names.has(name)) recovered[name] = cut < 0 ? '' : entry.slice(cut + 1);
  }
  return { spec: { ...spec, env: recovered }, run, hostPorts };
}

/** bridge networking: containerPort → the host port docker published it on, from an inspect. */
export function publishedPorts(ports: Docker.ContainerInspectInfo['NetworkSettings']['Ports'] | undefined): HostPorts {
  const result: HostPorts = {};
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const hostPort = Number(bindings?.[0]?.HostPort);
    if (Number.isInteger(hostPort) && hostPort > 0) result[key.split('/')[0]!] = hostPort;
  }
  return result;
}
