// Fencing of the leader's writes (DESIGN §10): a write through store.fenced() at an epoch older than
// the stored leader epoch is refused and writes nothing, alone in its group commit; the epoch bump
// takes the revision lock, so it waits for a write in flight and every later write sees it.
// PostgreSQL only checks: on SQLite one process writes, and nothing is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { FencedError } from '../../store/errors.ts';
import { bumpLeaderEpoch } from '../../store/leader-epoch.ts';
import type { StoredObject } from '../../store/types.ts';
import { workload } from '../support/fixtures.ts';
import { openForTest, postgresBackend, sqliteBackend } from '../support/store-backends.ts';

const key = (name: string) => ({ kind: 'Workload', namespace: 'team-a', name });
const names = (items: StoredObject[]) => items.map((o) => o.metadata.name).sort();

async function session(t: { after(fn: () => Promise<void>): void }, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  return client;
}

const postgres = postgresBackend();
describe('fenced writes: postgres', { skip: postgres.skip }, () => {
  before(() => postgres.start());
  after(() => postgres.stop());

  test('a write at a superseded epoch is refused alone and writes nothing; unfenced and current writes in the same batch land', async (t) => {
    const url = await postgres.freshUrl();
    const store = await openForTest(t, url);
    const client = await session(t, url);
    assert.equal(await bumpLeaderEpoch(client), 1);
    assert.equal(await bumpLeaderEpoch(client), 2);
    const seed = await store.create(workload('seed'));
    const refusals: FencedError[] = [];
    const stale = store.fenced(() => 1, (error) => refusals.push(error));
    const current = store.fenced(() => 2);
    let ran = false;

    // Asked for in one tick: they share one group commit (one transaction).
    const [staleCreate, unfenced, staleTransact, currentCreate, ...staleOthers] = await Promise.allSettled([
      stale.create(workload('a')),
      store.create(workload('b')),
      stale.transact(async (tx) => {
        ran = true;
        return tx.create(workload('d'));
      }),
      current.create(workload('c')),
      stale.updateStatus(key('seed'), { observedGeneration: 1 }),
      stale.update({ ...seed, spec: { image: 'nginx:2', replicas: 2 } }),
      stale.delete(key('seed')),
      stale.compact(1),
    ]);
    for (const refused of [staleCreate, staleTransact, ...staleOthers]) {
      assert.equal(refused.status, 'rejected');
      const error = (refused as PromiseRejectedResult).reason as FencedError;
      assert.ok(error instanceof FencedError);
      assert.equal(error.code, 'Fenced');
      assert.equal(error.message, "this replica's leadership (epoch 1) was superseded by epoch 2; write refused");
    }
    assert.equal(ran, false, 'a refused transaction is never run');
    assert.equal(refusals.length, 6, 'onFenced hears of every refusal');
    // No revision taken by the refused: the two that landed follow the seed's at once.
    assert.equal(unfenced.status, 'fulfilled');
    assert.equal(currentCreate.status, 'fulfilled');
    assert.equal((unfenced as PromiseFulfilledResult<StoredObject>).value.metadata.resourceVersion, '2');
    assert.equal((currentCreate as PromiseFulfilledResult<StoredObject>).value.metadata.resourceVersion, '3');
    assert.equal(await store.currentRevision(), 3);
    assert.deepEqual(names((await store.list({ kind: 'Workload' })).items), ['b', 'c', 'seed']);
    assert.deepEqual(await store.get(key('seed')), seed);
    const log = await client.query<{ revision: string; name: string }>('select revision, name from changes order by revision');
    assert.deepEqual(log.rows.map((r) => [Number(r.revision), r.name]), [[1, 'seed'], [2, 'b'], [3, 'c']]);
    assert.equal(await store.compactedRevision(), 0);

    // The view reads what the store reads and closes nothing.
    assert.deepEqual(await stale.get(key('b')), await store.get(key('b')));
    await stale.close();
    assert.equal((await store.create(workload('after-close'))).metadata.resourceVersion, '4');
  });

  test('the epoch bump waits for a write transaction in flight; a write after it at the old epoch is refused', async (t) => {
    const url = await postgres.freshUrl();
    const store = await openForTest(t, url);
    const client = await session(t, url);
    assert.equal(await bumpLeaderEpoch(client), 1);
    const leader = store.fenced(() => 1);

    let inside!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const early = leader.transact(async (tx) => {
      const created = await tx.create(workload('early'));
      inside();
      await gate;
      return created;
    });
    await entered;
    let bumped = false;
    const bump = bumpLeaderEpoch(client).then((epoch) => {
      bumped = true;
      return epoch;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(bumped, false, 'the bump waits for the revision lock the write holds');
    release();
    assert.equal((await early).metadata.name, 'early', 'the write in flight commits before the bump');
    assert.equal(await bump, 2);

    await assert.rejects(leader.create(workload('late')), (error: unknown) => error instanceof FencedError && error.currentEpoch === 2);
    assert.deepEqual(names((await store.list({ kind: 'Workload' })).items), ['early']);
    // A leader that stepped down writes at epoch 0.
    await assert.rejects(store.fenced(() => 0).create(workload('late')), /this replica no longer leads \(the leader's epoch is 2\); write refused/);
    assert.equal((await store.fenced(() => 2).create(workload('new'))).metadata.resourceVersion, '2');
  });
});

const sqlite = sqliteBackend();
describe('fenced writes: sqlite', () => {
  before(() => sqlite.start());
  after(() => sqlite.stop());

  test('one process leads: nothing is refused', async (t) => {
    const store = await openForTest(t, await sqlite.freshUrl());
    const fenced = store.fenced(() => 0);
    assert.equal((await fenced.create(workload('web'))).metadata.resourceVersion, '1');
    await fenced.compact(1);
    assert.equal(await store.currentRevision(), 1);
  });
});
