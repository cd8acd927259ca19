// Processes share the host's network, so two replicas (or the old and the new instance of a
// rolling update) cannot both listen on containerPort. The process runtime therefore gives each
// declared port a free host port at every start, passes it as PORT (the first port) and
// PORT_<NAME> (named ports, e.g. PORT_HTTP), and reports endpoints and probes on it — like
// Nomad's dynamic ports. The docker runtime maps containerPort instead.
import { createServer } from 'node:net';
import type { PortSpec } from '../../schemas/types.gen.ts';

/** containerPort (as a string) → the host port given to this run. */
export type HostPorts = Record<string, number>;

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function allocateHostPorts(ports: readonly PortSpec[] | undefined): Promise<HostPorts> {
  const hostPorts: HostPorts = {};
  for (const port of ports ?? []) hostPorts[String(port.containerPort)] = await freePort();
  return hostPorts;
}

export function portEnv(ports: readonly PortSpec[] | undefined, hostPorts: HostPorts): Record<string, string> {
  const env: Record<string, string> = {};
  (ports ?? []).forEach((port, i) => {
    const host = hostPorts[String(port.containerPort)];
    if (host === undefined) return;
    if (i === 0) env.PORT = String(host);
    if (port.name) env[`PORT_${port.name.toUpperCase().replace(/-/g, '_')}`] = String(host);
  });
  return env;
}

/** The spec's ports as this run really listens on them. */
export function onHostPorts(ports: readonly PortSpec[] | undefined, hostPorts: HostPorts): PortSpec[] {
  return (ports ?? []).map((port) => ({ ...port, containerPort: hostPorts[String(port.containerPort)] ?? port.containerPort }));
}

/** Whether nothing listens on port on any address of this machine. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/**
 * Host networking (docker): each port listens on containerPort when that is free, so an image
 * that ignores PORT (postgres) still works; otherwise (a second replica, the new instance of a
 * rolling update) on a free port, which an image that honours PORT uses.
 */
export async function preferContainerPorts(ports: readonly PortSpec[] | undefined): Promise<HostPorts> {
  const hostPorts: HostPorts = {};
  for (const port of ports ?? []) hostPorts[String(port.containerPort)] = (await isPortFree(port.containerPort)) ? port.containerPort : await freePort();
  return hostPorts;
}
