import { type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './index.ts';

export function initialMigration({ revisionType }: MigrationContext): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('objects')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('uid', 'text', (c) => c.notNull())
        .addColumn('revision', revisionType, (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('objects_pk', ['kind', 'namespace', 'name'])
        .execute();
      await db.schema
        .createTable('changes')
        .addColumn('revision', revisionType, (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('object', 'text', (c) => c.notNull())
        .addColumn('prev_labels', 'text')
        .execute();
      await db.schema
        .createTable('spec_revisions')
        .addColumn('uid', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('revision', revisionType, (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('spec_revisions_pk', ['uid', 'generation'])
        .execute();
      await db.schema
        .createTable('meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', revisionType, (c) => c.notNull())
        .execute();
      await db
        .insertInto('meta')
        .values([
          { key: 'revision', value: 0 },
          { key: 'compacted', value: 0 },
        ])
        .execute();
    },
  };
}
