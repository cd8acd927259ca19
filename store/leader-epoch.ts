// The leader epoch (table leader_epoch, one row; 0005-leader-epoch.ts) and how it is ordered
// against writes: both the bump and every write transaction take the revision row's lock first
// (DialectAdapter.lockRevision), so an old leader's write either commits before the bump or reads
// the new epoch after it and is refused (WriteBatch.admit). PostgreSQL only: on SQLite one
// process writes and leads, and nothing is fenced.
import { sql, type Transaction } from 'kysely';
import type { Database } from './db-schema.ts';

/** Inside a write transaction that holds the revision lock: the stored epoch (0 before any leader). */
export async function readLeaderEpoch(trx: Transaction<Database>): Promise<number> {
  const { rows } = await sql<{ epoch: number | string }>`select epoch from leader_epoch where id = 1`.execute(trx);
  return rows[0] ? Number(rows[0].epoch) : 0;
}

/** One database session that runs SQL text in order, such as a pg.Client. */
export interface Session {
  query(text: string): Promise<{ rows: unknown[] }>;
}

/**
 * Bumps the epoch in a transaction of its own on the session (the lease's own connection, which
 * holds the leader lock): it waits for a write transaction in flight to end, and a write arriving
 * meanwhile waits for it. Returns the new epoch.
 */
export async function bumpLeaderEpoch(session: Session): Promise<number> {
  await session.query('begin');
  try {
    await session.query(`select value from meta where key = 'revision' for update`);
    const { rows } = await session.query(
      `insert into leader_epoch (id, epoch) values (1, 1)
       on conflict (id) do update set epoch = leader_epoch.epoch + 1 returning epoch`,
    );
    await session.query('commit');
    return Number((rows[0] as { epoch: number | string }).epoch);
  } catch (error) {
    await session.query('rollback').catch(() => {});
    throw error;
  }
}
