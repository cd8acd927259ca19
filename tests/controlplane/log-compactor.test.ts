// The log compactor keeps one interval of history: each round compacts to what the previous round noted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LogCompactor } from '../../controlplane/log-compactor.ts';
import { GoneError } from '../../store/errors.ts';
import { workload } from '../support/fixtures.ts';
import { openForTest, sqliteBackend } from '../support/store-backends.ts';

const backend = sqliteBackend();
before(() => backend.start());
after(() => backend.stop());

test('each round forgets what came before the previous round, never more', async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  const compactor = new LogCompactor(store, 60_000);
  for (let i = 0; i < 3; i++) await store.create(workload(`a${i}`));
  await compactor.reconcile(); // notes 3, compacts nothing yet
  assert.equal(await store.compactedRevision(), 0);
  for (let i = 0; i < 2; i++) await store.create(workload(`b${i}`));
  await compactor.reconcile(); // compacts to 3, notes 5
  assert.equal(await store.compactedRevision(), 3);
  await assert.rejects(store.watch({ fromRevision: 2 }).next(), GoneError);
  const recent = store.watch({ fromRevision: 3, bookmarkIntervalMs: 60_000 });
  assert.equal((await recent.next()).value?.revision, 4, 'one round of history is still there');
  recent.close();
  await compactor.reconcile(); // nothing new: compacts to 5, notes 5
  await compactor.reconcile();
  assert.equal(await store.compactedRevision(), 5);
  assert.equal((await store.list({ kind: 'Workload' })).items.length, 5, 'objects stay');
});
