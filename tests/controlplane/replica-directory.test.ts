// Two replicas' directories on one real store, each on its own manual clock (their hosts' clocks
// need not agree: liveness is judged by when this replica saw the other's heartbeat change). A
// replica is alive while its heartbeats keep changing, dead REPLICA_TIMEOUT_MS after the last
// change this one saw, alive again when they resume, and gone once it stops cleanly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { REPLICA_TIMEOUT_MS, ReplicaDirectory } from '../../controlplane/replicas/replica-directory.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { openForTest, sqliteBackend } from '../support/store-backends.ts';

const backend = sqliteBackend();
before(() => backend.start());
after(() => backend.stop());

const HEARTBEAT_MS = 2_000;
const quiet = { warn: () => {} };

/** Lets a refresh the clock started finish (SQLite answers within milliseconds). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

/** Polls: the directories' reads and writes are real I/O, started by the manual clocks. */
async function until(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('alive while its heartbeats change, dead after the timeout, alive again, gone once stopped', async (t) => {
  const store = await openForTest(t, await backend.freshUrl());
  const clockA = new ManualClock();
  const clockB = new ManualClock();
  clockB.advance(1e9); // another host's clock, far from A's
  const a = new ReplicaDirectory(store.replicas, clockA, quiet, 'http://a.internal:8080');
  const b = new ReplicaDirectory(store.replicas, clockB, quiet);
  await a.start();
  await b.start();
  t.after(() => Promise.all([a.stop(), b.stop()]));
  assert.notEqual(a.id, b.id);
  assert.ok(a.isAlive(a.id), 'itself, always');

  // B learns its URL once listening; A sees it at its next refresh.
  b.advertise('http://b.internal:8080');
  clockA.advance(HEARTBEAT_MS);
  await until('A to see B', () => a.urlOf(b.id) === 'http://b.internal:8080');
  assert.ok(a.isAlive(b.id));
  await until('B to see A', () => { clockB.advance(HEARTBEAT_MS); return b.urlOf(a.id) === 'http://a.internal:8080'; });

  // B stops heartbeating (its clock stands still: a paused or dead process). A's next refresh
  // still sees its last heartbeat change; from then on nothing changes.
  clockA.advance(HEARTBEAT_MS);
  await settle();
  const lastChange = clockA.now();
  while (clockA.now() + HEARTBEAT_MS - lastChange < REPLICA_TIMEOUT_MS) {
    clockA.advance(HEARTBEAT_MS);
    await settle();
    assert.ok(a.isAlive(b.id), `alive ${clockA.now() - lastChange} ms after its last heartbeat`);
  }
  clockA.advance(HEARTBEAT_MS);
  await until('B to be dead to A', () => !a.isAlive(b.id));
  assert.equal(a.lastSeen(b.id), lastChange, 'last seen when its heartbeat last changed');
  assert.equal(a.urlOf(b.id), undefined, 'no forwarding to a dead replica');

  // B's heartbeats resume.
  clockB.advance(HEARTBEAT_MS);
  await new Promise((resolve) => setTimeout(resolve, 50));
  clockA.advance(HEARTBEAT_MS);
  await until('B to be alive again', () => a.isAlive(b.id));

  // A clean stop removes B's row: gone at A's next refresh.
  await b.stop();
  clockA.advance(HEARTBEAT_MS);
  await until('B to be gone', () => a.lastSeen(b.id) === undefined);
  assert.equal((await store.replicas.list()).map((r) => r.id).join(), a.id);
});
