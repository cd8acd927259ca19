// The object store's reads outside a write transaction: objects, lists, spec history, the
// revisions, and the change log watchers catch up from. They run on the dialect's reader, so they
// do not queue behind a write.
import type { Kysely } from 'kysely';
import type { SpecRevision } from '../schemas/types.gen.ts';
import type { ChangesTable, Database } from './db-schema.ts';
import type { DialectAdapter } from './dialects/adapter.ts';
import type { ChangeRecord } from './change-feed.ts';
import { frozenInTests } from './frozen.ts';
import { NotFoundError, mapDriverError } from './errors.ts';
import { parseLabelSelector } from './label-selector.ts';
import { describeKey } from './object-meta.ts';
import { keyArgs, type HotStatements } from './store-transaction.ts';
import type { ListQuery, ListResult, ObjectKey, StoredObject } from './types.ts';

export class StoreReads {
  constructor(
    private readonly adapter: DialectAdapter,
    private readonly statements: HotStatements,
  ) {}

  private async read<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await fn(this.adapter.reader);
    } catch (error) {
      throw mapDriverError(this.adapter, error);
    }
  }

  get(key: ObjectKey): Promise<StoredObject> {
    return this.read(async (db) => {
      const found = await findObject(db, this.statements, key);
      if (!found) throw new NotFoundError(describeKey(key));
      return found;
    });
  }

  async list(query: ListQuery): Promise<ListResult> {
    const selector = typeof query.labelSelector === 'string' ? parseLabelSelector(query.labelSelector) : query.labelSelector;
    const namespaces = query.namespace === undefined ? undefined : typeof query.namespace === 'string' ? [query.namespace] : query.namespace;
    if (namespaces?.length === 0) return this.currentRevision().then((revision) => ({ items: [], revision }));
    return this.read(() =>
      this.adapter.snapshot(async (trx) => {
        const revision = await readMeta(trx, 'revision');
        let select = trx.selectFrom('objects').innerJoin('changes', 'changes.revision', 'objects.revision').select('changes.object as body').where('objects.kind', '=', query.kind);
        if (namespaces?.length === 1) select = select.where('objects.namespace', '=', namespaces[0]!);
        else if (namespaces) select = select.where('objects.namespace', 'in', namespaces);
        const rows = await select.orderBy('objects.namespace').orderBy('objects.name').execute();
        const items: StoredObject[] = [];
        for (const row of rows) {
          const object = JSON.parse(row.body) as StoredObject;
          if (!selector || selector.matches(object.metadata.labels)) items.push(object);
        }
        return { items, revision };
      }),
    );
  }

  currentRevision(): Promise<number> {
    return this.read((db) => readMeta(db, 'revision'));
  }

  compactedRevision(): Promise<number> {
    return this.read((db) => readMeta(db, 'compacted'));
  }

  history(key: ObjectKey): Promise<SpecRevision[]> {
    return this.read(async (db) => {
      const current = await findObject(db, this.statements, key);
      if (!current) throw new NotFoundError(describeKey(key));
      const rows = await db
        .selectFrom('spec_revisions')
        .select(['generation', 'revision', 'spec', 'created_at'])
        .where('uid', '=', current.metadata.uid!)
        .orderBy('generation')
        .execute();
      return rows.map((row) => ({ generation: row.generation, revision: row.revision, spec: JSON.parse(row.spec), createdAt: row.created_at }));
    });
  }
}

/** A committed object (outside a write transaction, its log row is always there). */
async function findObject(db: Kysely<Database>, statements: HotStatements, key: ObjectKey): Promise<StoredObject | undefined> {
  const { rows } = await statements.find.run<{ body: string | null }>(db, keyArgs(key));
  const body = rows[0]?.body;
  if (body === null) throw new Error(`store: ${describeKey(key)} has no body in the log`);
  return body === undefined ? undefined : (JSON.parse(body) as StoredObject);
}

export async function readMeta(db: Kysely<Database>, key: 'revision' | 'compacted'): Promise<number> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return Number(row.value);
}

/**
 * The log after a revision. Compaction keeps the rows that live objects' bodies are in; they are
 * not the log any more: a watch from before the compacted revision must see the gap (Gone).
 */
export async function readChanges(db: Kysely<Database>, after: number, limit: number): Promise<ChangeRecord[]> {
  const rows = await db
    .selectFrom('changes')
    .select(['revision', 'type', 'object', 'prev_labels'])
    .where('revision', '>', after)
    .where('revision', '>', (eb) => eb.selectFrom('meta').select('value').where('key', '=', 'compacted'))
    .orderBy('revision')
    .limit(limit)
    .execute();
  return rows.map(toChangeRecord);
}

function toChangeRecord(row: Pick<ChangesTable, 'revision' | 'type' | 'object' | 'prev_labels'>): ChangeRecord {
  return {
    revision: Number(row.revision),
    type: row.type,
    object: frozenInTests(JSON.parse(row.object) as StoredObject),
    prevLabels: row.prev_labels === null ? undefined : (JSON.parse(row.prev_labels) as Record<string, string>),
  };
}
