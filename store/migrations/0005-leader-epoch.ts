import type { Kysely, Migration } from 'kysely';

// One row: how many times a control-plane replica has become the leader. Each new leader bumps
// it while holding the lease, so a leader's epoch is larger than every earlier leader's.
export function leaderEpochMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('leader_epoch')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
