// Events are recorded against their object and pruned by age.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../store/open-store.ts';
import { pruneEvents, recordEvent } from '../../reconciler/events.ts';

test('recordEvent names the object; pruneEvents deletes only events older than the TTL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-events-'));
  const store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const workload = await store.create({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'web', namespace: 'alice' }, spec: { command: ['x'] } });
  const old = await recordEvent(store, workload, 'Scheduled', 'long ago', new Date('2026-01-01T00:00:00Z'));
  const recent = await recordEvent(store, workload, 'FailedScheduling', 'just now', new Date('2026-01-01T02:00:00Z'), 'Warning');
  assert.match(old!.metadata.name, /^web-[0-9a-f]{12}$/);
  assert.deepEqual(recent!.spec, {
    involvedObject: { kind: 'Workload', namespace: 'alice', name: 'web', uid: workload.metadata.uid },
    reason: 'FailedScheduling',
    message: 'just now',
    type: 'Warning',
    count: 1,
    firstTimestamp: '2026-01-01T02:00:00.000Z',
    lastTimestamp: '2026-01-01T02:00:00.000Z',
  });
  assert.equal(await pruneEvents(store, new Date('2026-01-01T02:30:00Z'), 3_600_000), 1);
  assert.deepEqual((await store.list({ kind: 'Event' })).items.map((e) => (e.spec as { message: string }).message), ['just now']);
  const agent = await store.create({ apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name: 'n1' }, spec: {} });
  assert.equal(await recordEvent(store, agent, 'Lost', 'cluster-scoped objects have no events', new Date()), undefined);
});
