// A store written by an earlier version opens with everything in it, on every backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { GoneError } from '../../store/errors.ts';
import { migrate, type MigrationContext } from '../../store/migrations/index.ts';
import type { StoredObject, WatchEvent } from '../../store/types.ts';
import { allBackends, openForTest } from '../support/store-backends.ts';

function connect(url: string): { db: Kysely<any>; context: MigrationContext } {
  if (url.startsWith('sqlite:')) return { db: new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(url.slice('sqlite:'.length)) }) }), context: { revisionType: 'integer' } };
  return { db: new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }) }), context: { revisionType: 'bigint' } };
}

function workload(name: string, revision: number, uid: string): StoredObject {
  return {
    apiVersion: 'lattice/v1',
    kind: 'Workload',
    metadata: { name, namespace: 'alice', uid, resourceVersion: String(revision), generation: 1, creationTimestamp: '2026-01-01T00:00:00.000Z' },
    spec: { command: ['sleep', '1'] },
  };
}

const row = (object: StoredObject, type: string) => ({
  revision: Number(object.metadata.resourceVersion),
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
  type,
  object: JSON.stringify(object),
  prev_labels: null,
});

for (const backend of allBackends()) {
  describe(`store migrations: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());

    test('0004 moves bodies into the log: objects whose rows were compacted keep theirs, and the log stays a log', async (t) => {
      const url = await backend.freshUrl();
      // As 0003 left a store: bodies in `objects`, the log compacted up to revision 2.
      const { db, context } = connect(url);
      await migrate(db, context, '0003-agents');
      const web = workload('web', 2, 'u-web');
      const api = workload('api', 3, 'u-api');
      const apiRunning = { ...api, metadata: { ...api.metadata, resourceVersion: '4' }, status: { phase: 'Running' } };
      await db
        .insertInto('objects')
        .values([web, apiRunning].map((o) => ({ kind: o.kind, namespace: 'alice', name: o.metadata.name, uid: o.metadata.uid, revision: Number(o.metadata.resourceVersion), body: JSON.stringify(o) })))
        .execute();
      await db.insertInto('changes').values([row(api, 'ADDED'), row(apiRunning, 'MODIFIED')]).execute();
      await db.updateTable('meta').set({ value: 4 }).where('key', '=', 'revision').execute();
      await db.updateTable('meta').set({ value: 2 }).where('key', '=', 'compacted').execute();
      await db.destroy();

      const store = await openForTest(t, url);
      assert.deepEqual(await store.get({ kind: 'Workload', namespace: 'alice', name: 'web' }), web, 'its only log row was compacted: the body comes from the old objects table');
      assert.deepEqual(await store.get({ kind: 'Workload', namespace: 'alice', name: 'api' }), apiRunning);
      assert.deepEqual((await store.list({ kind: 'Workload' })).items.map((o) => o.metadata.name), ['api', 'web']);
      await assert.rejects(store.watch({ fromRevision: 1 }).next(), GoneError, 'the row kept for web is no log entry');
      const events: WatchEvent[] = [];
      for await (const event of store.watch({ fromRevision: 2, bookmarkIntervalMs: 60_000 })) {
        events.push(event);
        if (events.length === 2) break;
      }
      assert.deepEqual(events.map((e) => [e.type, e.revision]), [['ADDED', 3], ['MODIFIED', 4]]);

      // Writes go on from there; compaction keeps what live objects are at.
      const updated = await store.updateStatus({ kind: 'Workload', namespace: 'alice', name: 'web' }, { phase: 'Running' });
      assert.equal(updated.metadata.resourceVersion, '5');
      await store.compact(5);
      assert.deepEqual((await store.get({ kind: 'Workload', namespace: 'alice', name: 'web' })).status, { phase: 'Running' });
      assert.deepEqual(await store.get({ kind: 'Workload', namespace: 'alice', name: 'api' }), apiRunning);
    });
  });
}
