import { sql, type Kysely, type Migration } from 'kysely';

// An object's body is kept once, in the change log row of its current revision, as kine keeps
// it: the objects table holds the key and that revision. A write then stores its body once
// instead of twice, and COMMIT writes half the WAL pages, which halved its time on the control
// plane's main thread (README, "Why the code is as it is").
// Compaction keeps the rows live objects point at.
export function bodiesInLogMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      // Compaction used to drop every row up to its revision: put back the current body of each
      // live object whose row went. (Such a row is below the compacted revision: no watch reads it.)
      await sql`insert into changes (revision, kind, namespace, name, type, object, prev_labels)
        select o.revision, o.kind, o.namespace, o.name, 'MODIFIED', o.body, null from objects o
        where not exists (select 1 from changes c where c.revision = o.revision)`.execute(db);
      await db.schema.alterTable('objects').dropColumn('body').execute();
      await db.schema.createIndex('objects_by_revision').on('objects').column('revision').execute();
    },
  };
}
