// The relay's public TCP ports (tunnel_ports table): one per (instance uid, port name), taken from
// the configured range, kept until the Instance is deleted.
import type { DialectAdapter } from './dialects/adapter.ts';

export interface TunnelPortRecord {
  port: number;
  instanceUid: string;
  portName: string;
}

export interface TunnelPortRange {
  first: number;
  last: number;
}

export interface TunnelPortStore {
  /**
   * The instance port's public port: the one it already has, else the lowest free one in the
   * range. Rejects when every port in the range is taken.
   */
  allocate(instanceUid: string, portName: string, range: TunnelPortRange): Promise<number>;
  list(): Promise<TunnelPortRecord[]>;
  /** Frees the instance's ports; returns them. */
  release(instanceUid: string): Promise<number[]>;
}

/** Two replicas (or two instances starting together) racing for one free port: the loser looks again. */
const ALLOCATION_ATTEMPTS = 8;

export class SqlTunnelPortStore implements TunnelPortStore {
  constructor(
    private readonly adapter: DialectAdapter,
    private readonly now: () => Date,
  ) {}

  async allocate(instanceUid: string, portName: string, range: TunnelPortRange): Promise<number> {
    for (let attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt += 1) {
      const existing = await this.adapter.writer
        .selectFrom('tunnel_ports')
        .select('port')
        .where('instance_uid', '=', instanceUid)
        .where('port_name', '=', portName)
        .executeTakeFirst();
      if (existing) return Number(existing.port);
      const taken = await this.adapter.writer
        .selectFrom('tunnel_ports')
        .select('port')
        .where('port', '>=', range.first)
        .where('port', '<=', range.last)
        .orderBy('port')
        .execute();
      // The lowest free port first (predictable URLs); after losing a race, a random free one, so
      // that many racing allocations spread out instead of colliding again on the same port.
      const port = (attempt === 0 ? lowestFree : randomFree)(taken.map((r) => Number(r.port)), range);
      if (port === undefined) throw new Error(`every tunnel port in ${range.first}-${range.last} is taken (LATTICE_TUNNEL_PORTS)`);
      try {
        await this.adapter.writer
          .insertInto('tunnel_ports')
          .values({ port, instance_uid: instanceUid, port_name: portName, created_at: this.now().toISOString() })
          .execute();
        return port;
      } catch (error) {
        if (!this.adapter.isUniqueViolation(error)) throw error;
      }
    }
    throw new Error(`could not allocate a tunnel port for instance ${instanceUid} port ${portName}: the range is contended`);
  }

  async list(): Promise<TunnelPortRecord[]> {
    const rows = await this.adapter.reader.selectFrom('tunnel_ports').select(['port', 'instance_uid', 'port_name']).orderBy('port').execute();
    return rows.map((r) => ({ port: Number(r.port), instanceUid: r.instance_uid, portName: r.port_name }));
  }

  async release(instanceUid: string): Promise<number[]> {
    const rows = await this.adapter.writer.deleteFrom('tunnel_ports').where('instance_uid', '=', instanceUid).returning('port').execute();
    return rows.map((r) => Number(r.port));
  }
}

/** sorted: the taken ports in the range, ascending. */
function lowestFree(sorted: readonly number[], range: TunnelPortRange): number | undefined {
  let candidate = range.first;
  for (const port of sorted) {
    if (port !== candidate) break;
    candidate += 1;
  }
  return candidate <= range.last ? candidate : undefined;
}

function randomFree(sorted: readonly number[], range: TunnelPortRange): number | undefined {
  const taken = new Set(sorted);
  const free = range.last - range.first + 1 - taken.size;
  if (free <= 0) return undefined;
  let skip = Math.floor(Math.random() * free);
  for (let port = range.first; port <= range.last; port += 1) {
    if (taken.has(port)) continue;
    if (skip === 0) return port;
    skip -= 1;
  }
  return undefined;
}
