// Endpoints of a process instance, given its ports as mapped to this run's host ports
// (host-ports.ts). 'tunnel' falls back to host exposure until the tunnel support lands (DESIGN §6).
import type { PortSpec } from '../../schemas/types.gen.ts';

export function hostEndpoints(ports: PortSpec[] | undefined, advertiseAddress: string): { port: string; url: string }[] {
  const host = advertiseAddress.includes(':') && !advertiseAddress.startsWith('[') ? `[${advertiseAddress}]` : advertiseAddress;
  return (ports ?? [])
    .filter((port) => port.expose === 'host' || port.expose === 'tunnel')
    .map((port) => ({
      port: port.name ?? String(port.containerPort),
      url: `${port.protocol === 'http' ? 'http' : 'tcp'}://${host}:${port.containerPort}`,
    }));
}
