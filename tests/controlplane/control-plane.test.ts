// The ControlPlane apart from HTTP, over a real store and a manual clock: start()/stop() leave no
// timer or handle behind, and the leader's controllers (here the workload controller and log
// compaction) stop acting after stopLeaderControllers() and act again after startLeaderControllers().
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { resolveConfig } from '../../controlplane/config.ts';
import { ControlPlane } from '../../controlplane/control-plane.ts';
import type { ObjectStore } from '../../store/types.ts';
import { workload } from '../support/fixtures.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { openForTest, sqliteBackend } from '../support/store-backends.ts';

const backend = sqliteBackend();
before(() => backend.start());
after(() => backend.stop());

const COMPACT_INTERVAL_MS = 1_000;
const quiet = { warn: () => {}, error: () => {} };

function controlPlane(store: ObjectStore, clock: ManualClock): ControlPlane {
  const config = resolveConfig({ logger: false, compactIntervalMs: COMPACT_INTERVAL_MS });
  return new ControlPlane({ config, store, now: () => new Date(), log: quiet, clock });
}

/** Polls (the store's writes and watches are real I/O); `step` runs before each look. */
async function until(what: string, ready: () => boolean | Promise<boolean>, step: () => void = () => {}): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    step();
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What keeps the event loop alive, by kind. */
const handles = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap').sort();

async function instancesOf(store: ObjectStore, name: string): Promise<number> {
  const { items } = await store.list({ kind: 'Instance', namespace: 'team-a' });
  return items.filter((i) => (i.spec as { workload: string }).workload === name).length;
}

test('start() then stop(): no timer, watch or handle is left', async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  const clock = new ManualClock();
  const plane = controlPlane(store, clock);
  const idle = handles();
  await plane.start();
  assert.ok(clock.pending >= 4, 'the resync, compaction, event pruning and the replica heartbeat wait on the clock');
  plane.stop();
  assert.equal(clock.pending, 0);
  await until('the handles of before start()', () => JSON.stringify(handles()) === JSON.stringify(idle));
});

test("the leader's controllers stop acting after stopLeaderControllers() and act again after startLeaderControllers()", async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  const clock = new ManualClock();
  const plane = controlPlane(store, clock);
  await plane.start();
  t.after(() => plane.stop());
  const compactionRound = () => clock.advance(COMPACT_INTERVAL_MS);

  await store.create(workload('first'));
  await until('the workload controller to make an instance', async () => (await instancesOf(store, 'first')) === 1);
  await until('a compaction', async () => (await store.compactedRevision()) > 0, compactionRound);

  // A round already running finishes; nothing starts after it.
  await plane.stopLeaderControllers();
  const compacted = await store.compactedRevision();
  await store.create(workload('second'));
  await until('the cache to hold the second workload', () => plane.reconciler!.workloads.get('team-a', 'second') !== undefined);
  for (let round = 0; round < 3; round++) {
    compactionRound();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(await instancesOf(store, 'second'), 0, 'no workload reconciled');
  assert.equal(await store.compactedRevision(), compacted, 'no compaction');
  assert.equal(clock.pending, 2, 'only the resync and the replica heartbeat wait');

  plane.startLeaderControllers();
  await until('the workload controller to catch up', async () => (await instancesOf(store, 'second')) === 1);
  await until('compaction to go on', async () => (await store.compactedRevision()) > compacted, compactionRound);
});
