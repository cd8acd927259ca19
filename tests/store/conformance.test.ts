// One contract, every backend: the same suite runs against SQLite (a temp file) and a real
// PostgreSQL started on a loopback port.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AlreadyExistsError, ConflictError, GoneError, InvalidError, NotFoundError } from '../../store/errors.ts';
import type { ObjectStore } from '../../store/types.ts';
import { allBackends, openForTest } from '../support/store-backends.ts';
import { agent, collectEvents, withoutBookmarks, workload } from '../support/fixtures.ts';

const key = (name: string, namespace = 'team-a') => ({ kind: 'Workload', namespace, name });

for (const backend of allBackends()) {
  describe(`store conformance: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());
    const fresh = async (t: Parameters<typeof openForTest>[0]) => openForTest(t, await backend.freshUrl());

    test('create, get, list, update, delete', async (t) => {
      const store = await fresh(t);
      const created = await store.create(workload('web', { labels: { app: 'web' } }));
      assert.equal(created.metadata.generation, 1);
      assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/);
      assert.equal(created.metadata.resourceVersion, '1');
      assert.ok(!Number.isNaN(Date.parse(created.metadata.creationTimestamp!)));
      assert.deepEqual(await store.get(key('web')), created);

      const listed = await store.list({ kind: 'Workload', namespace: 'team-a' });
      assert.deepEqual(listed.items, [created]);
      assert.equal(listed.revision, 1);

      const updated = await store.update({ ...created, spec: { image: 'nginx:2', replicas: 3 } });
      assert.equal(updated.metadata.resourceVersion, '2');
      assert.deepEqual(updated.spec, { image: 'nginx:2', replicas: 3 });
      assert.equal(updated.metadata.uid, created.metadata.uid);
      assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);

      const { object, deleted } = await store.delete(key('web'));
      assert.equal(deleted, true);
      assert.equal(object.metadata.resourceVersion, '3');
      await assert.rejects(store.get(key('web')), NotFoundError);
      assert.deepEqual((await store.list({ kind: 'Workload' })).items, []);
      assert.equal(await store.currentRevision(), 3);
    });

    test('missing and duplicate objects are typed errors without driver messages', async (t) => {
      const store = await fresh(t);
      await store.create(workload('web'));
      const duplicate = await store.create(workload('web')).catch((e: unknown) => e);
      assert.ok(duplicate instanceof AlreadyExistsError);
      assert.equal(duplicate.code, 'AlreadyExists');
      assert.equal(duplicate.message, 'Workload team-a/web already exists');
      await assert.rejects(store.get(key('nope')), (e: unknown) => e instanceof NotFoundError && e.message === 'Workload team-a/nope not found');
      await assert.rejects(store.update(workload('nope')), NotFoundError);
      await assert.rejects(store.updateStatus(key('nope'), {}), NotFoundError);
      await assert.rejects(store.delete(key('nope')), NotFoundError);
      await assert.rejects(store.create({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: '' } }), InvalidError);
      assert.equal(await store.currentRevision(), 1);
    });

    test('same name in another namespace or kind is another object', async (t) => {
      const store = await fresh(t);
      await store.create(workload('web', { namespace: 'team-a' }));
      await store.create(workload('web', { namespace: 'team-b' }));
      await store.create(agent('web'));
      assert.equal((await store.list({ kind: 'Workload' })).items.length, 2);
      assert.deepEqual((await store.list({ kind: 'Workload', namespace: ['team-b', 'team-c'] })).items.map((o) => o.metadata.namespace), ['team-b']);
      assert.deepEqual((await store.list({ kind: 'Workload', namespace: [] })).items, []);
      const cluster = await store.get({ kind: 'Agent', name: 'web' });
      assert.equal(cluster.metadata.namespace, undefined);
    });

    test('a stale resourceVersion or uid is a Conflict and changes nothing', async (t) => {
      const store = await fresh(t);
      const v1 = await store.create(workload('web'));
      const v2 = await store.update({ ...v1, spec: { image: 'nginx:2' } });
      await assert.rejects(store.update({ ...v1, spec: { image: 'nginx:3' } }), (e: unknown) => e instanceof ConflictError && /resourceVersion is 2, not 1/.test(e.message));
      await assert.rejects(store.updateStatus(key('web'), { phase: 'Running' }, { resourceVersion: '1' }), ConflictError);
      await assert.rejects(store.delete(key('web'), { resourceVersion: '1' }), ConflictError);
      await assert.rejects(store.delete(key('web'), { uid: 'another-incarnation' }), ConflictError);
      assert.deepEqual(await store.get(key('web')), v2);
      // Without a precondition the write goes through (last writer wins).
      const { metadata } = v1;
      const unconditional = await store.update({ ...v1, metadata: { name: metadata.name, namespace: metadata.namespace }, spec: { image: 'nginx:4' } });
      assert.equal(unconditional.metadata.generation, 3);
    });

    test('generation bumps only when spec changes; unchanged writes add no revision', async (t) => {
      const store = await fresh(t);
      const v1 = await store.create(workload('web'));
      const labelled = await store.update({ ...v1, metadata: { ...v1.metadata, labels: { tier: 'front' } } });
      assert.equal(labelled.metadata.generation, 1);
      assert.equal(labelled.metadata.resourceVersion, '2');
      const status = await store.updateStatus(key('web'), { phase: 'Running' });
      assert.equal(status.metadata.generation, 1);
      assert.deepEqual(status.spec, v1.spec);
      const respec = await store.update({ ...status, spec: { image: 'nginx:2', replicas: 1 } });
      assert.equal(respec.metadata.generation, 2);
      assert.deepEqual(respec.status, { phase: 'Running' }, 'update keeps status');
      const same = await store.update({ ...respec, status: { phase: 'Failed' } });
      assert.deepEqual(same, respec, 'an update cannot write status, and an unchanged one writes nothing');
      assert.deepEqual(await store.updateStatus(key('web'), { phase: 'Running' }), respec);
      assert.equal(await store.currentRevision(), 4);
    });

    test('server-set metadata cannot be overwritten by a client', async (t) => {
      const store = await fresh(t);
      const v1 = await store.create({
        ...workload('web'),
        metadata: { name: 'web', namespace: 'team-a', uid: 'mine', generation: 99, creationTimestamp: '2000-01-01T00:00:00Z', deletionTimestamp: '2000-01-01T00:00:00Z' },
      });
      assert.notEqual(v1.metadata.uid, 'mine');
      assert.equal(v1.metadata.generation, 1);
      assert.notEqual(v1.metadata.creationTimestamp, '2000-01-01T00:00:00Z');
      assert.equal(v1.metadata.deletionTimestamp, undefined);
      const v2 = await store.update({ ...v1, metadata: { ...v1.metadata, generation: 50, creationTimestamp: '2000-01-01T00:00:00Z' }, spec: { image: 'x' } });
      assert.equal(v2.metadata.generation, 2);
      assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
    });

    test('finalizers hold a deleted object until they are removed', async (t) => {
      const store = await fresh(t);
      const watch = store.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 });
      const v1 = await store.create({ ...workload('web'), metadata: { name: 'web', namespace: 'team-a', finalizers: ['lattice/instances'] } });
      const first = await store.delete(key('web'));
      assert.equal(first.deleted, false);
      assert.ok(first.object.metadata.deletionTimestamp);
      const again = await store.delete(key('web'));
      assert.deepEqual(again.object, first.object, 'deleting twice changes nothing');
      const stillThere = await store.get(key('web'));
      assert.deepEqual(stillThere.metadata.finalizers, ['lattice/instances']);
      const gone = await store.update({ ...stillThere, metadata: { ...stillThere.metadata, finalizers: [] } });
      assert.equal(gone.metadata.uid, v1.metadata.uid);
      await assert.rejects(store.get(key('web')), NotFoundError);
      const events = await collectEvents(watch, (e) => e.length === 3);
      assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    });

    test('label selectors: =, ==, !=, in, notin, exists, !key', async (t) => {
      const store = await fresh(t);
      await store.create(workload('a', { labels: { app: 'web', tier: 'front' } }));
      await store.create(workload('b', { labels: { app: 'db', tier: 'back' } }));
      await store.create(workload('c', { labels: { app: 'web' } }));
      await store.create(workload('d'));
      const names = async (labelSelector: string) => (await store.list({ kind: 'Workload', labelSelector })).items.map((o) => o.metadata.name);
      assert.deepEqual(await names('app=web'), ['a', 'c']);
      assert.deepEqual(await names('app==web'), ['a', 'c']);
      assert.deepEqual(await names('app!=web'), ['b', 'd']);
      assert.deepEqual(await names('tier in (front, back)'), ['a', 'b']);
      assert.deepEqual(await names('tier notin (front)'), ['b', 'c', 'd']);
      assert.deepEqual(await names('tier'), ['a', 'b']);
      assert.deepEqual(await names('!tier'), ['c', 'd']);
      assert.deepEqual(await names('app=web,!tier'), ['c']);
      assert.deepEqual(await names(''), ['a', 'b', 'c', 'd']);
      await assert.rejects(store.list({ kind: 'Workload', labelSelector: 'app=' + 'x'.repeat(64) }), (e: unknown) => e instanceof InvalidError && /^labelSelector: .* is not a valid label value$/.test(e.message));
      await assert.rejects(store.list({ kind: 'Workload', labelSelector: 'app in ()' }), InvalidError);
      assert.throws(() => store.watch({ fromRevision: 0, labelSelector: 'a b c' }), InvalidError);
    });

    test('watch from revision N delivers exactly the later revisions, in order', async (t) => {
      const store = await fresh(t);
      for (let i = 0; i < 10; i++) await store.create(workload(`w${i}`));
      const watch = store.watch({ fromRevision: 4, bookmarkIntervalMs: 60_000 });
      const events = await collectEvents(watch, (e) => e.length === 6);
      assert.deepEqual(events.map((e) => e.revision), [5, 6, 7, 8, 9, 10]);
      assert.deepEqual(withoutBookmarks(events).map((e) => e.object.metadata.name), ['w4', 'w5', 'w6', 'w7', 'w8', 'w9']);
      assert.ok(events.every((e) => e.type === 'ADDED'));
    });

    test('a status update builds on the caller’s basis only while it is the stored revision', async (t) => {
      const store = await fresh(t);
      const created = await store.create(workload('web'));
      const running = await store.updateStatus(key('web'), { phase: 'Running' }, { basis: created });
      assert.equal(running.spec, created.spec, 'built from the basis: the spec is the same object');
      assert.deepEqual((await store.get(key('web'))).status, { phase: 'Running' });
      // Stale: the spec changed since; the stored body is what the status goes with.
      const changed = await store.update({ ...running, spec: { image: 'nginx:2', replicas: 2 } });
      const degraded = await store.updateStatus(key('web'), { phase: 'Degraded' }, { basis: running });
      assert.deepEqual(degraded.spec, changed.spec);
      assert.deepEqual(await store.get(key('web')), degraded);
    });

    const freezing = process.env.LATTICE_FREEZE_OBJECTS === '1' ? undefined : 'objects are frozen under LATTICE_FREEZE_OBJECTS=1, which npm test sets';
    test('a written object and every watcher’s copy of it are frozen: no holder can change what the others see', { skip: freezing }, async (t) => {
      const url = await backend.freshUrl();
      const store = await openForTest(t, url);
      const live = store.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 });
      const created = await store.create(workload('web', { labels: { app: 'web' } }));
      const updated = await store.updateStatus(key('web'), { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
      const [fromLive] = withoutBookmarks(await collectEvents(live, (e) => withoutBookmarks(e).length === 2));
      // Another store on the same database reads them back from the log.
      const other = await openForTest(t, url);
      const [, fromLog] = withoutBookmarks(await collectEvents(other.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 }), (e) => withoutBookmarks(e).length === 2));
      for (const object of [created, updated, fromLive!.object, fromLog!.object]) {
        assert.ok(Object.isFrozen(object) && Object.isFrozen(object.metadata) && Object.isFrozen(object.metadata.labels));
        assert.throws(() => {
          (object.metadata.labels as Record<string, string>).app = 'changed';
        }, TypeError);
      }
      assert.ok(Object.isFrozen((updated.status as { conditions: object[] }).conditions[0]));
      assert.equal((await store.get(key('web'))).metadata.labels?.app, 'web');
    });

    test('watch filters by kind, namespace and labels; objects leaving a selector are DELETED for it', async (t) => {
      const store = await fresh(t);
      const watch = store.watch({ fromRevision: 0, kind: 'Workload', namespace: 'team-a', labelSelector: 'app=web', bookmarkIntervalMs: 60_000 });
      await store.create(agent('node-1', { app: 'web' }));
      await store.create(workload('other', { namespace: 'team-b', labels: { app: 'web' } }));
      const web = await store.create(workload('web', { labels: { app: 'web' } }));
      const db = await store.create(workload('db', { labels: { app: 'db' } }));
      await store.update({ ...web, metadata: { ...web.metadata, labels: { app: 'api' } } }); // leaves
      await store.update({ ...db, metadata: { ...db.metadata, labels: { app: 'web' } } }); // joins
      await store.updateStatus(key('db'), { phase: 'Running' }); // stays
      await store.delete(key('db'));
      const events = await collectEvents(watch, (e) => e.length === 5);
      assert.deepEqual(
        withoutBookmarks(events).map((e) => `${e.type} ${e.object.metadata.name}@${e.revision}`),
        ['ADDED web@3', 'DELETED web@5', 'ADDED db@6', 'MODIFIED db@7', 'DELETED db@8'],
      );
    });

    test('a predicate filters each event (authorisation per object)', async (t) => {
      const store = await fresh(t);
      const watch = store.watch({ fromRevision: 0, predicate: (o) => o.metadata.name.startsWith('mine-'), bookmarkIntervalMs: 60_000 });
      await store.create(workload('theirs'));
      await store.create(workload('mine-1'));
      const events = await collectEvents(watch, (e) => e.length === 1);
      assert.equal(withoutBookmarks(events)[0]!.object.metadata.name, 'mine-1');
    });

    test('an idle watch receives BOOKMARKs carrying the revision it has seen, filtered changes included', async (t) => {
      const store = await fresh(t);
      const watch = store.watch({ fromRevision: 0, kind: 'Secret', bookmarkIntervalMs: 50 });
      await store.create(workload('web'));
      await store.create(workload('api'));
      const events = await collectEvents(watch, (e) => e.some((x) => x.type === 'BOOKMARK' && x.revision === 2));
      assert.ok(events.every((e) => e.type === 'BOOKMARK'));
      assert.ok(events.every((e, i) => i === 0 || e.revision >= events[i - 1]!.revision));
      watch.close();
    });

    test('closing a watch ends its iteration promptly', async (t) => {
      const store = await fresh(t);
      const watch = store.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 });
      const pending = watch.next();
      watch.close();
      assert.deepEqual(await pending, { value: undefined, done: true });
    });

    test('8 concurrent writers x 500 writes: 3 watchers each see every revision once, in order', async (t) => {
      const url = await backend.freshUrl();
      // On PostgreSQL half the writers and one watcher use a second store (another replica's
      // connections): its watcher only learns of the first store's commits through NOTIFY.
      const stores: ObjectStore[] = [await openForTest(t, url)];
      stores.push(backend.name === 'postgres' ? await openForTest(t, url) : stores[0]!);
      const writers = 8;
      const perWriter = 500;
      const total = writers * perWriter;
      const watchers = [0, 1, 1].map((s) => stores[s]!.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 }));
      const seen = watchers.map((w) => collectEvents(w, (e) => e.length === total, 120_000));
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const store = stores[w % 2]!;
          for (let i = 0; i < perWriter; i++) {
            const name = `w${w}-${i % 50}`;
            if (i < 50) await store.create(workload(name));
            else await store.update({ ...workload(name), spec: { image: `nginx:${i}` } });
          }
        }),
      );
      assert.equal(await stores[0]!.currentRevision(), total);
      for (const events of await Promise.all(seen)) {
        assert.equal(events.length, total);
        events.forEach((event, i) => assert.equal(event.revision, i + 1, `event ${i} has revision ${event.revision}`));
      }
      const last = withoutBookmarks((await seen[0]!));
      assert.equal(last.filter((e) => e.type === 'ADDED').length, writers * 50);
    });

    test('compaction: watching from before it is Gone; from it or later still works', async (t) => {
      const store = await fresh(t);
      for (let i = 0; i < 10; i++) await store.create(workload(`w${i}`));
      await store.compact(6);
      assert.equal(await store.compactedRevision(), 6);
      const gone = await store.watch({ fromRevision: 5 }).next().catch((e: unknown) => e);
      assert.ok(gone instanceof GoneError);
      assert.equal(gone.code, 'Gone');
      assert.equal(gone.compactedRevision, 6);
      const events = await collectEvents(store.watch({ fromRevision: 6, bookmarkIntervalMs: 60_000 }), (e) => e.length === 4);
      assert.deepEqual(events.map((e) => e.revision), [7, 8, 9, 10]);
      assert.equal((await store.list({ kind: 'Workload' })).items.length, 10, 'compaction forgets changes, not objects');
      await assert.rejects(store.compact(11), InvalidError);
      await store.compact(3);
      assert.equal(await store.compactedRevision(), 6, 'compaction never moves back');
    });

    test('a watcher that falls behind compaction gets Gone', async (t) => {
      const store = await fresh(t);
      const watch = store.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 });
      await store.create(workload('first'));
      assert.equal((await watch.next()).value?.revision, 1);
      // Push this watcher out of any in-memory window: far more changes than it holds.
      await store.transact(async (tx) => {
        for (let i = 0; i < 25_000; i++) await tx.create(workload(`bulk-${i}`));
      });
      await store.compact(20_000);
      await assert.rejects(async () => {
        for await (const _ of watch);
      }, GoneError);
    });

    test('a failed transaction leaves no trace', async (t) => {
      const store = await fresh(t);
      await store.create(workload('existing'));
      const watch = store.watch({ fromRevision: 1, bookmarkIntervalMs: 60_000 });
      await assert.rejects(
        store.transact(async (tx) => {
          await tx.create(workload('a'));
          await tx.updateStatus(key('existing'), { phase: 'Running' });
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      await assert.rejects(
        store.transact(async (tx) => {
          await tx.create(workload('b'));
          await tx.create(workload('existing'));
        }),
        AlreadyExistsError,
      );
      assert.equal(await store.currentRevision(), 1);
      assert.deepEqual((await store.list({ kind: 'Workload' })).items.map((o) => o.metadata.name), ['existing']);
      assert.equal((await store.get(key('existing'))).status, undefined);
      const next = await store.create(workload('after'));
      assert.equal(next.metadata.resourceVersion, '2', 'no revision was burnt');
      const events = await collectEvents(watch, (e) => e.length === 1);
      assert.equal(withoutBookmarks(events)[0]!.object.metadata.name, 'after');
    });

    test('concurrent transactions share commits; the ones that fail leave no trace and burn no revision', async (t) => {
      const store = await fresh(t);
      await store.create(workload('taken'));
      const watch = store.watch({ fromRevision: 1, bookmarkIntervalMs: 60_000 });
      // Issued in one tick, so they land in the same group commit.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) =>
          store.transact(async (tx) => {
            const created = await tx.create(workload(`g${i}`));
            if (i % 3 === 1) await tx.create(workload('taken')); // AlreadyExists: this one rolls back
            if (i % 3 === 2) await tx.updateStatus(key(`g${i}`), { phase: 'Running' });
            if (i % 10 === 9) throw new Error(`caller ${i} gave up`);
            return created.metadata.name;
          }),
        ),
      );
      const kept = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      outcomes.forEach((o, i) => {
        if (i % 3 === 1) assert.ok(o.status === 'rejected' && o.reason instanceof AlreadyExistsError, `transaction ${i} fails on its own`);
        else if (i % 10 === 9) assert.ok(o.status === 'rejected' && /gave up/.test((o.reason as Error).message), `transaction ${i} keeps the caller's error`);
        else assert.equal(o.status, 'fulfilled', `transaction ${i} commits`);
      });
      const expectedWrites = kept.reduce((n, i) => n + (i % 3 === 2 ? 2 : 1), 0);
      assert.equal(await store.currentRevision(), 1 + expectedWrites, 'gapless: failed transactions took no revision');
      const names = (await store.list({ kind: 'Workload' })).items.map((o) => o.metadata.name).sort();
      assert.deepEqual(names, ['taken', ...kept.map((i) => `g${i}`)].sort());
      const events = withoutBookmarks(await collectEvents(watch, (e) => e.length === expectedWrites));
      events.forEach((e, i) => assert.equal(e.revision, i + 2));
      assert.equal((await store.get(key('g2'))).status !== undefined, true);
    });

    test('a transaction gives each write its own revision and commits them together', async (t) => {
      const store = await fresh(t);
      const results = await store.transact(async (tx) => {
        const a = await tx.create(workload('a'));
        const b = await tx.create(workload('b'));
        const a2 = await tx.update({ ...a, spec: { image: 'nginx:2' } });
        assert.deepEqual(await tx.get(key('a')), a2, 'reads inside see earlier writes');
        assert.equal(await tx.find(key('zzz')), undefined);
        return [a, b, a2];
      });
      assert.deepEqual(results.map((o) => o.metadata.resourceVersion), ['1', '2', '3']);
      assert.equal(await store.currentRevision(), 3);
    });

    test('a transaction reads what earlier ones of its group commit wrote, never what one that rolled back did', async (t) => {
      const store = await fresh(t);
      // Asked for in one turn of the event loop: one group commit, whose log rows go in last.
      const [created, failed, updated] = await Promise.allSettled([
        store.create(workload('x')),
        store.transact(async (tx) => {
          await tx.create(workload('ghost'));
          await tx.updateStatus(key('x'), { phase: 'Failed' });
          throw new Error('rolled back');
        }),
        store.transact((tx) => tx.updateStatus(key('x'), { phase: 'Running' })),
      ]);
      assert.equal(failed.status, 'rejected');
      assert.ok(created.status === 'fulfilled' && updated.status === 'fulfilled');
      assert.equal(updated.value.metadata.resourceVersion, '2', 'the rolled-back revisions are taken again');
      assert.equal(updated.value.metadata.uid, created.value.metadata.uid);
      assert.deepEqual(await store.get(key('x')), updated.value);
      assert.equal(await store.get(key('ghost')).catch((e: unknown) => e instanceof NotFoundError), true);
    });

    test('spec history is kept per generation, bounded, and dropped with the object', async (t) => {
      const store = await fresh(t);
      let current = await store.create(workload('web', { image: 'nginx:0' }));
      for (let i = 1; i <= 12; i++) current = await store.update({ ...current, spec: { image: `nginx:${i}` } });
      await store.update({ ...current, metadata: { ...current.metadata, labels: { a: 'b' } } });
      const history = await store.history(key('web'));
      assert.deepEqual(history.map((h) => h.generation), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
      assert.deepEqual(history.at(-1)!.spec, { image: 'nginx:12' });
      assert.equal(history.at(-1)!.revision, 13);
      await store.delete(key('web'));
      await store.create(workload('web', { image: 'fresh' }));
      assert.deepEqual((await store.history(key('web'))).map((h) => h.spec), [{ image: 'fresh', replicas: 1 }]);
      await assert.rejects(store.history(key('nope')), NotFoundError);
    });

    test('closing and reopening keeps every object, the revision and the log', async (t) => {
      const url = await backend.freshUrl();
      const first = await openForTest(t, url);
      const web = await first.create(workload('web', { labels: { app: 'web' } }));
      await first.updateStatus(key('web'), { phase: 'Running' });
      await first.create(agent('node-1'));
      await first.close();
      const second = await openForTest(t, url);
      assert.equal(await second.currentRevision(), 3);
      assert.equal((await second.get(key('web'))).metadata.uid, web.metadata.uid);
      assert.deepEqual((await second.get(key('web'))).status, { phase: 'Running' });
      const events = await collectEvents(second.watch({ fromRevision: 0, bookmarkIntervalMs: 60_000 }), (e) => e.length === 3);
      assert.deepEqual(events.map((e) => e.revision), [1, 2, 3]);
      const next = await second.create(workload('api'));
      assert.equal(next.metadata.resourceVersion, '4');
    });

    test('list returns a snapshot consistent with its revision', async (t) => {
      const store = await fresh(t);
      const writes = (async () => {
        for (let i = 0; i < 200; i++) await store.create(workload(`w${i}`));
      })();
      for (let i = 0; i < 20; i++) {
        const { items, revision } = await store.list({ kind: 'Workload' });
        assert.equal(items.length, revision, 'every revision so far created exactly one object');
        assert.ok(items.every((o) => Number(o.metadata.resourceVersion) <= revision));
      }
      await writes;
    });
  });
}
