// Which replica leads: the one holding a PostgreSQL session-level advisory lock on its own
// connection (not the pool's), so the lock is released when the process or that connection
// dies, with no lease to expire. Standbys try for it every second. Each acquisition bumps the
// leader_epoch row, so a newer leader's epoch is always larger (what fencing will check). With
// SQLite there is one process: it leads, at epoch 1.
import type pg from 'pg';

export interface Leadership {
  readonly leading: boolean;
  /** The epoch of this process's current or last leadership; 0 before it first led. */
  readonly epoch: number;
}

export interface LeaderLease extends Leadership {
  /** Starts trying; calls onAcquire on each acquisition and onLose when it is lost or stopped. */
  start(onAcquire: () => void, onLose: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** SQLite: one process, always the leader. */
export function soleLeader(): LeaderLease {
  let onLose = () => {};
  const lease = {
    leading: false,
    epoch: 1,
    async start(acquired: () => void, lost: () => void) {
      onLose = lost;
      lease.leading = true;
      acquired();
    },
    async stop() {
      if (lease.leading) onLose();
      lease.leading = false;
    },
  };
  return lease;
}

/** Any constant shared by every replica of one database ("LATT"); advisory locks are per database. */
const LEADER_LOCK_KEY = 0x4c415454;
const RETRY_MS = 1_000;

export interface PostgresLeaseLog {
  warn(details: object, message: string): void;
}

export class PostgresLeaderLease implements LeaderLease {
  leading = false;
  epoch = 0;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private onAcquire = () => {};
  private onLose = () => {};

  constructor(private readonly connectionString: string, private readonly log: PostgresLeaseLog) {}

  async start(onAcquire: () => void, onLose: () => void): Promise<void> {
    this.onAcquire = onAcquire;
    this.onLose = onLose;
    await this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.lose();
    // Ending the session releases the lock at once for a standby.
    await client?.end().catch(() => {});
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    try {
      const client = this.client ?? (await this.connect());
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [LEADER_LOCK_KEY]);
      if (rows[0]?.locked && client === this.client && !this.stopped) {
        const bumped = await client.query<{ epoch: string }>(
          `insert into leader_epoch (id, epoch) values (1, 1)
           on conflict (id) do update set epoch = leader_epoch.epoch + 1 returning epoch`,
        );
        this.epoch = Number(bumped.rows[0]!.epoch);
        this.leading = true;
        this.onAcquire();
        return;
      }
    } catch (error) {
      this.log.warn({ err: error }, 'leader lease: trying for the lock failed; retrying');
      this.dropConnection();
    }
    this.retry();
  }

  private async connect(): Promise<pg.Client> {
    // Loaded here: a SQLite install never pays for pg (README, "Why the code is as it is").
    const { default: postgres } = await import('pg');
    const client = new postgres.Client({ connectionString: this.connectionString });
    // The lock lives and dies with this session: whatever ends it ends the leadership.
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.log.warn({ err: error }, 'leader lease: its connection was lost; leadership given up');
      this.dropConnection();
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      this.client = undefined;
      client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
    this.lose();
  }

  private lose(): void {
    if (!this.leading) return;
    this.leading = false;
    this.onLose();
  }

  private retry(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => void this.attempt(), RETRY_MS);
  }
}
