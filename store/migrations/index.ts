// Migrations run at open, in name order, under kysely's migration lock (safe with several
// control-plane replicas starting at once).
import { Migrator, type Kysely, type Migration } from 'kysely';
import { initialMigration } from './0001-initial.ts';
import { authMigration } from './0002-auth.ts';
import { agentsMigration } from './0003-agents.ts';

export interface MigrationContext {
  /** INTEGER in SQLite (a rowid alias: the fastest primary key), BIGINT in PostgreSQL. */
  revisionType: 'integer' | 'bigint';
}

export async function migrateToLatest(db: Kysely<any>, context: MigrationContext): Promise<void> {
  const migrations: Record<string, Migration> = { '0001-initial': initialMigration(context), '0002-auth': authMigration(), '0003-agents': agentsMigration() };
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`store migration ${failed} failed`, { cause: error });
  }
}
