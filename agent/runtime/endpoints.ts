// Host endpoints of an instance, given its ports as mapped to this run's host ports
// (host-ports.ts). A 'tunnel' port is reachable on the host too: the tunnel (tunnels/) forwards
// to this endpoint, and it keeps working when the tunnel cannot open.
import type { PortSpec } from '../../schemas/types.gen.ts';

export function hostEndpoints(ports: PortSpec[] | undefined, advertiseAddress: string): { port: string; url: string; expose: 'host' }[] {
  const host = advertiseAddress.includes(':') && !advertiseAddress.startsWith('[') ? `[${advertiseAddress}]` : advertiseAddress;
  return (ports ?? [])
    .filter((port) => port.expose === 'host' || port.expose === 'tunnel')
    .map((port) => ({
      port: port.name ?? String(port.containerPort),
      url: `${port.protocol === 'http' ? 'http' : 'tcp'}://${host}:${port.containerPort}`,
      expose: 'host' as const,
    }));
}
