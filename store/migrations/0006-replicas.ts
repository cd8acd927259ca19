import type { Kysely, Migration } from 'kysely';

// The control-plane replicas sharing this database: each refreshes its row every few seconds, so
// the others know who is alive (an agent whose replica died is silent) and where to forward a
// request for an agent connected there.
export function replicasMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('replicas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        // Milliseconds since the epoch, by the replica's own clock.
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
