// SharedLists over a real SQLite store: watchers that ask for the same list while the store has
// not moved, or within a second of its read, share one read and one serialisation; after a write
// and that second, newcomers read afresh.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SHARE_LIST_MS, SharedLists } from '../../controlplane/shared-lists.ts';
import type { ListQuery } from '../../store/types.ts';
import { workload } from '../support/fixtures.ts';
import { openForTest, sqliteBackend } from '../support/store-backends.ts';

const backend = sqliteBackend();
before(() => backend.start());
after(() => backend.stop());

test('one read and one serialisation per object for every watcher of the same list; a write makes the next one read afresh after a second', async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  for (const name of ['a', 'b', 'c']) await store.create(workload(name, { namespace: 'alice' }));
  await store.create(workload('x', { namespace: 'bob' }));
  const reads: ListQuery[] = [];
  let clock = 0;
  const lists = new SharedLists({ list: (query) => (reads.push(query), store.list(query)), currentRevision: () => store.currentRevision() }, () => clock);
  let rendered = 0;
  const render = (object: { metadata: { name: string } }) => (rendered += 1, object.metadata.name);

  const first = await lists.open({ kind: 'Workload', namespace: ['alice'] });
  const second = await lists.open({ kind: 'Workload', namespace: 'alice' });
  assert.equal(reads.length, 1, 'the second watcher shares the first one’s read');
  assert.deepEqual([0, 1, 2].map((i) => first.bytes(i, render).toString()), ['a', 'b', 'c']);
  assert.deepEqual([0, 1, 2].map((i) => second.bytes(i, render).toString()), ['a', 'b', 'c']);
  assert.equal(rendered, 3, 'each object serialised once');
  assert.equal(first.bytes(1, render), second.bytes(1, render), 'the very same bytes for every watcher');
  await lists.open({ kind: 'Workload', namespace: 'bob' });
  assert.equal(reads.length, 2, 'another namespace is another list');

  await store.create(workload('d', { namespace: 'alice' }));
  clock += SHARE_LIST_MS - 1;
  const soon = await lists.open({ kind: 'Workload', namespace: 'alice' });
  assert.equal(reads.length, 2, 'the store moved, but within a second a newcomer still shares the list (its watch catches up)');
  assert.equal(soon.revision, first.revision);
  soon.release();
  clock += 1;
  const third = await lists.open({ kind: 'Workload', namespace: 'alice' });
  assert.equal(reads.length, 3, 'the store moved and a second passed: a newcomer reads afresh');
  assert.deepEqual(third.items.map((o) => o.metadata.name), ['a', 'b', 'c', 'd']);
  assert.ok(third.revision > first.revision);

  for (const list of [first, second, third]) list.release();
  await lists.open({ kind: 'Workload', namespace: 'alice' });
  assert.equal(reads.length, 4, 'a list nobody sends any more is not kept');
});
