// Which replica leads: the one holding a PostgreSQL session-level advisory lock on its own
// connection (not the pool's), so the lock is released when the process or that connection
// dies, with no lease to expire. Standbys try for it twice a second. Each acquisition bumps the
// leader_epoch row under the store's revision lock (store/leader-epoch.ts), so a newer leader's
// epoch is always larger and the leader's fenced writes (ObjectStore.fenced) are refused once it
// is. A process that is paused (SIGSTOP, a frozen VM) keeps its TCP connection, and so its
// session and the lock, forever: the lease's session is therefore ended by the server once silent
// for a few seconds (idle_session_timeout), and the leader keeps it talking with a heartbeat and
// steps down on its own when one fails or none answered for that long. With SQLite there is one
// process: it leads, at epoch 1.
import type pg from 'pg';
import { bumpLeaderEpoch } from '../store/leader-epoch.ts';

export interface Leadership {
  readonly leading: boolean;
  /** The epoch of this process's current or last leadership; 0 before it first led. */
  readonly epoch: number;
}

export interface LeaderLease extends Leadership {
  /** Starts trying; calls onAcquire on each acquisition and onLose when it is lost or stopped. */
  start(onAcquire: () => void, onLose: () => void): Promise<void>;
  /**
   * Gives up leading at once (onLose), freeing the lease for a standby, and goes on trying as one;
   * why is logged once. For a leader whose write was fenced.
   */
  stepDown(why: string): void;
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
    // Nothing fences the only process (SQLite writes are never refused), so nothing asks this.
    stepDown() {},
    async stop() {
      if (lease.leading) onLose();
      lease.leading = false;
    },
  };
  return lease;
}

/** Any constant shared by every replica of one database ("LATT"); advisory locks are per database. */
const LEADER_LOCK_KEY = 0x4c415454;

export interface LeaseTimings {
  /** How often a standby tries for the lock. */
  retryMs: number;
  /** How often the leader runs a query on the lease's session to show it is alive. */
  heartbeatMs: number;
  /**
   * The server ends the lease's session after this long without a statement (idle_session_timeout)
   * or idle inside a transaction, and the leader steps down once no heartbeat answered for this
   * long. A paused leader's lock is free after it and a standby leads at its next try: 3 s + 0.5 s
   * stays within DESIGN §9's 5 s.
   */
  sessionTimeoutMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { retryMs: 500, heartbeatMs: 1_000, sessionTimeoutMs: 3_000 };

export interface PostgresLeaseLog {
  warn(details: object, message: string): void;
}

export class PostgresLeaderLease implements LeaderLease {
  leading = false;
  epoch = 0;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private onAcquire = () => {};
  private onLose = () => {};
  private readonly timings: LeaseTimings;

  constructor(
    private readonly connectionString: string,
    private readonly log: PostgresLeaseLog,
    timings: Partial<LeaseTimings> = {},
  ) {
    this.timings = { ...DEFAULT_LEASE_TIMINGS, ...timings };
  }

  async start(onAcquire: () => void, onLose: () => void): Promise<void> {
    this.onAcquire = onAcquire;
    this.onLose = onLose;
    await this.attempt();
  }

  stepDown(why: string): void {
    if (this.stopped || !this.client) return;
    this.log.warn({ epoch: this.epoch }, `leader lease: ${why}; stepping down, and trying again as a standby`);
    this.dropConnection();
    this.retry();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.stopHeartbeat();
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
        const epoch = await bumpLeaderEpoch(client);
        if (client === this.client && !this.stopped) {
          this.epoch = epoch;
          this.leading = true;
          this.startHeartbeat(client);
          this.onAcquire();
          return;
        }
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
    const { sessionTimeoutMs } = this.timings;
    const keepaliveSeconds = Math.max(1, Math.round(sessionTimeoutMs / 3_000));
    const client = new postgres.Client({
      connectionString: this.connectionString,
      // The server probes a silent peer (a host gone, a cable cut) within a few seconds, and ends
      // the session of one stopped inside the epoch bump's transaction (it holds the revision lock).
      options: [
        `-c tcp_keepalives_idle=${keepaliveSeconds}`,
        `-c tcp_keepalives_interval=${keepaliveSeconds}`,
        '-c tcp_keepalives_count=2',
        `-c idle_in_transaction_session_timeout=${sessionTimeoutMs}`,
      ].join(' '),
    });
    // The lock lives and dies with this session: whatever ends it ends the leadership.
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      const what = this.leading ? 'leadership given up' : 'reconnecting';
      this.log.warn({ err: error }, `leader lease: its connection was lost; ${what}`);
      this.dropConnection();
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    this.client = client;
    try {
      await client.connect();
      // A stopped process keeps its TCP connection (the kernel answers keepalives for it): only
      // the server's idle timeout frees its lock. PostgreSQL 14 and later; a start-up option
      // would fail the connection on older servers, so it is set here.
      await client.query(`set idle_session_timeout = ${sessionTimeoutMs}`).catch((error: unknown) => {
        this.log.warn({ err: error }, 'leader lease: idle_session_timeout is not supported (PostgreSQL < 14); a paused leader keeps the lease until its connection dies');
      });
    } catch (error) {
      this.client = undefined;
      client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  /**
   * While leading: a cheap query every heartbeatMs keeps the session from idling out. A failed one,
   * or none answered for sessionTimeoutMs (this process was paused, or the database is out of
   * reach), means the server has ended or may end the session and a standby may lead: step down.
   */
  private startHeartbeat(client: pg.Client): void {
    let answered = Date.now();
    let asking = false;
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (client !== this.client) return;
      const silentMs = Date.now() - answered;
      if (silentMs > this.timings.sessionTimeoutMs) {
        this.stepDown(`no heartbeat answered for ${silentMs} ms (this process was paused or the database is out of reach), so another replica may lead`);
        return;
      }
      if (asking) return;
      asking = true;
      client.query('select 1').then(
        () => {
          answered = Date.now();
          asking = false;
        },
        (error: unknown) => {
          asking = false;
          if (client === this.client) this.stepDown(`the heartbeat failed (${error instanceof Error ? error.message : String(error)})`);
        },
      );
    }, this.timings.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = undefined;
    this.stopHeartbeat();
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
    this.timer = setTimeout(() => void this.attempt(), this.timings.retryMs);
  }
}
