import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../db-schema.ts';
import { Backoff } from '../../schemas/backoff.ts';
import { readLeaderEpoch } from '../leader-epoch.ts';
import { migrate } from '../migrations/index.ts';
import type { DialectAdapter, OtherProcesses } from './adapter.ts';

export interface PostgresOptions {
  connectionString: string;
  poolSize?: number;
}

const CHANNEL = 'lattice_changes';
const REVOCATIONS = 'lattice_revocations';
const INT8_OID = 20;
/**
 * A write transaction of a process that stopped (SIGSTOP, a VM paused) would hold the revision
 * lock, and so every replica's writes and a new leader's epoch bump, for as long as it stays
 * stopped: the server ends such a session after this long idle inside a transaction. Ours run
 * their statements back to back, so only a stopped (or pathologically stalled) process waits this
 * long; it stays within the 5 s of a leader takeover (DESIGN §9).
 */
const IDLE_IN_TRANSACTION_MS = 3_000;

// Revisions are BIGINT; they stay far below 2^53, so numbers are safe and simpler than strings.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export async function openPostgres({ connectionString, poolSize = 10 }: PostgresOptions): Promise<DialectAdapter> {
  const pool = new pg.Pool({ connectionString, max: poolSize, types, idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS });
  // A client's error must not crash the process: an idle one's (the server restarting) reaches the
  // pool; one in use (the server ending a session idle in a transaction, as it does to a leader
  // that was paused mid-write) has no listener but this, and its query fails anyway.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db, { revisionType: 'bigint' });
  return {
    backend: 'postgres',
    writer: db,
    reader: db,
    // 7 columns a change row; PostgreSQL allows 65,535 bound parameters.
    maxRowsPerInsert: 1000,
    snapshot: (fn) => db.transaction().setIsolationLevel('repeatable read').execute(fn),
    // The row lock is held to commit: a second writer waits here, so a revision never commits
    // before a smaller one (which a sequence would allow, and a watcher would then skip).
    lockRevision: async (trx) =>
      (await trx.selectFrom('meta').select('value').where('key', '=', 'revision').forUpdate().executeTakeFirstOrThrow()).value,
    readLeaderEpoch,
    announce: async (trx, revision) => {
      await sql`select pg_notify(${CHANNEL}, ${String(revision)})`.execute(trx);
    },
    afterCommit: async () => {},
    listen: (from) => listenToOthers(connectionString, from),
    // After the revoking write commits: a replica that misses it (its listener reconnecting) still
    // rechecks a cached session within AuthService's SESSION_CHECK_TTL_MS.
    revoke: async (revocation) => {
      await sql`select pg_notify(${REVOCATIONS}, ${revocation})`.execute(db);
    },
    isDriverError: (error) => error instanceof pg.DatabaseError,
    isUniqueViolation: (error) => sqlState(error) === '23505',
    isContention: (error) => sqlState(error) === '40001' || sqlState(error) === '40P01',
    close: () => db.destroy(),
  };
}

function sqlState(error: unknown): string {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : '';
}

// One dedicated connection LISTENs; it reconnects with backoff and, once back, reports a
// possible commit so the change feed re-reads whatever it missed meanwhile.
async function listenToOthers(connectionString: string, from: OtherProcesses): Promise<() => Promise<void>> {
  const onCommit = () => from.commit();
  let stopped = false;
  let client: pg.Client | undefined;
  // One connection per server, so no jitter: back soon after a blip, at most every 2 s while down.
  const backoff = new Backoff({ initialMs: 50, maxMs: 2000 });
  let retryTimer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString, types });
    const lost = (): void => {
      if (client !== next) return;
      next.end().catch(() => {});
      reconnect();
    };
    next.on('notification', (message) => {
      if (message.channel === REVOCATIONS) from.revoked(message.payload ?? '');
      else onCommit();
    });
    next.on('error', lost);
    next.on('end', lost);
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}; LISTEN ${REVOCATIONS}`);
    } catch (error) {
      next.end().catch(() => {});
      throw error;
    }
    client = next;
    backoff.reset();
    onCommit();
  };
  const reconnect = (): void => {
    client = undefined;
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch(reconnect);
    }, backoff.next());
  };

  await connect();
  return async () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    await client?.end().catch(() => {});
  };
}
