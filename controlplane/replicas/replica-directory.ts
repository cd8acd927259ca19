// Who the control-plane replicas sharing this database are, and which are alive. Each replica
// refreshes its row every HEARTBEAT_MS and reads everyone's; a replica is alive while its row was
// seen to change within REPLICA_TIMEOUT_MS by this replica's clock (never compared with another
// host's clock), and gone at once when its row goes (a clean stop). The agent lifecycle
// controller counts an agent as heard while the replica holding its connection is alive; a
// request for an agent held elsewhere is forwarded to that replica's URL.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../schemas/clock.ts';
import type { ReplicaRecord, ReplicaStore } from '../../store/replica-store.ts';

const HEARTBEAT_MS = 2_000;
/** Three heartbeats missed, with room for a slow write: about as fast as the leader lease frees. */
export const REPLICA_TIMEOUT_MS = 7_000;
/** Rows of replicas silent this long are removed by whoever notices (a crashed replica's). */
const FORGET_AFTER_MS = 3_600_000;

interface Seen {
  record: ReplicaRecord;
  /** When this replica saw its heartbeat change, by this replica's clock. */
  changedAt: number;
}

export interface ReplicaDirectoryLog {
  warn(details: object, message: string): void;
}

export class ReplicaDirectory {
  /** This process: the host's name (for operators reading Agent status) and a random suffix. */
  readonly id = `${hostname()}-${randomBytes(3).toString('hex')}`;
  private url = '';
  private readonly startedAt: string;
  private readonly seen = new Map<string, Seen>();
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly store: ReplicaStore,
    private readonly clock: Clock,
    private readonly log: ReplicaDirectoryLog,
    /** Where other replicas reach this one; set later by advertise() when only known once listening. */
    url?: string,
  ) {
    this.url = url ?? '';
    this.startedAt = new Date(clock.now()).toISOString();
  }

  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  /** The URL other replicas forward to, once known (the listening address). */
  advertise(url: string): void {
    if (this.url) return;
    this.url = url;
    void this.refresh().catch((error: unknown) => this.log.warn({ err: error }, 'replica directory: advertising this replica failed; retrying'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.store.remove(this.id).catch(() => {});
  }

  /** When the replica was last seen alive (this one: now); undefined for one not (or no longer) registered. */
  lastSeen(id: string): number | undefined {
    if (id === this.id) return this.clock.now();
    return this.seen.get(id)?.changedAt;
  }

  isAlive(id: string): boolean {
    const seen = this.lastSeen(id);
    return seen !== undefined && this.clock.now() - seen < REPLICA_TIMEOUT_MS;
  }

  /** The replica's URL if it is alive and said where it listens. */
  urlOf(id: string): string | undefined {
    const url = this.seen.get(id)?.record.url;
    return url && this.isAlive(id) ? url : undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.refresh().then(
        () => this.schedule(),
        (error: unknown) => {
          this.log.warn({ err: error }, 'replica directory: refreshing failed; retrying');
          this.schedule();
        },
      );
    }, HEARTBEAT_MS);
  }

  private async refresh(): Promise<void> {
    const now = this.clock.now();
    await this.store.heartbeat({ id: this.id, url: this.url, startedAt: this.startedAt, heartbeatAt: now });
    const records = await this.store.list();
    const present = new Set<string>();
    for (const record of records) {
      present.add(record.id);
      const previous = this.seen.get(record.id);
      if (!previous || previous.record.heartbeatAt !== record.heartbeatAt) this.seen.set(record.id, { record, changedAt: now });
      else if (now - previous.changedAt > FORGET_AFTER_MS) await this.store.remove(record.id);
    }
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
  }
}
