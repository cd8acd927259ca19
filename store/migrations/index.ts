// Migrations run at open, in name order, under kysely's migration lock (safe with several
// control-plane replicas starting at once).
import { Migrator, type Kysely, type Migration } from 'kysely';
import { initialMigration } from './0001-initial.ts';
import { authMigration } from './0002-auth.ts';
import { agentsMigration } from './0003-agents.ts';
import { bodiesInLogMigration } from './0004-bodies-in-log.ts';
import { leaderEpochMigration } from './0005-leader-epoch.ts';
import { replicasMigration } from './0006-replicas.ts';
import { tunnelPortsMigration } from './0007-tunnel-ports.ts';

export interface MigrationContext {
  /** INTEGER in SQLite (a rowid alias: the fastest primary key), BIGINT in PostgreSQL. */
  revisionType: 'integer' | 'bigint';
}

/** Every migration, or those up to the named one (tests build the stores of earlier versions). */
export async function migrate(db: Kysely<any>, context: MigrationContext, target?: string): Promise<void> {
  const migrations: Record<string, Migration> = {
    '0001-initial': initialMigration(context),
    '0002-auth': authMigration(),
    '0003-agents': agentsMigration(),
    '0004-bodies-in-log': bodiesInLogMigration(),
    '0005-leader-epoch': leaderEpochMigration(),
    '0006-replicas': replicasMigration(),
    '0007-tunnel-ports': tunnelPortsMigration(),
  };
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`store migration ${failed} failed`, { cause: error });
  }
}
