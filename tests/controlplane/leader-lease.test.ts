// The leader lease between two ControlPlanes on one PostgreSQL database: while one holds it, the
// other's leader controllers do not run (a Workload written through it gets no Instance); when
// the holder stops, the standby takes the lease with a larger epoch and reconciles. A holder that
// stops talking (paused) steps down on its own and the server frees its lock; a leader whose write
// is fenced steps down at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { resolveConfig } from '../../controlplane/config.ts';
import { ControlPlane, type ControlPlaneLog } from '../../controlplane/control-plane.ts';
import { PostgresLeaderLease, type LeaseTimings } from '../../controlplane/leader-lease.ts';
import { bumpLeaderEpoch } from '../../store/leader-epoch.ts';
import type { ObjectStore } from '../../store/types.ts';
import { workload } from '../support/fixtures.ts';
import { openForTest, postgresBackend } from '../support/store-backends.ts';

const backend = postgresBackend();
before(() => (backend.skip ? undefined : backend.start()));
after(() => backend.stop());

const quiet = { warn: () => {}, error: () => {} };

function controlPlane(url: string, store: ObjectStore, reconciler: boolean, log: ControlPlaneLog = quiet): ControlPlane {
  const config = resolveConfig({ logger: false, reconciler });
  return new ControlPlane({ config, store, now: () => new Date(), log, lease: new PostgresLeaderLease(url, log) });
}

/** A log that keeps its warnings. */
function recording(): { warn(details: object, message: string): void; error(): void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (_details, message) => void warnings.push(message), error: () => {}, warnings };
}

/** A lease and what it was told, started. */
async function lease(url: string, timings: Partial<LeaseTimings>, log = recording()) {
  const events: string[] = [];
  const held = new PostgresLeaderLease(url, log, timings);
  await held.start(() => void events.push('acquired'), () => void events.push('lost'));
  return { lease: held, events, log };
}

/** This whole process stops, as under SIGSTOP: no timer, no socket read. */
function pause(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

async function until(what: string, ready: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function instances(store: ObjectStore): Promise<number> {
  return (await store.list({ kind: 'Instance', namespace: 'team-a' })).items.length;
}

test("while one ControlPlane holds the lease the other's leader controllers do not run; it takes over when the holder stops", { skip: backend.skip }, async (t) => {
  const url = await backend.freshUrl();
  const [leaderStore, standbyStore] = [await openForTest(t, url), await openForTest(t, url)];
  // The leader runs no reconciler: it only holds the lease, so any Instance is the standby's doing.
  const leader = controlPlane(url, leaderStore, false);
  await leader.start();
  t.after(() => leader.stop());
  const { leading, epoch } = leader.leadership;
  assert.deepEqual({ leading, epoch }, { leading: true, epoch: 1 });

  const standby = controlPlane(url, standbyStore, true);
  await standby.start();
  t.after(() => standby.stop());
  assert.equal(standby.leadership.leading, false);

  await standbyStore.create(workload('web'));
  await until('the standby to cache the workload', () => standby.reconciler!.workloads.get('team-a', 'web') !== undefined);
  // Two of the standby's 1 s tries for the lock.
  await new Promise((resolve) => setTimeout(resolve, 2_200));
  assert.equal(await instances(standbyStore), 0, 'no Instance while the other leads');
  assert.equal(standby.leadership.leading, false);

  await leader.stop();
  assert.equal(leader.leadership.leading, false);
  await until('the standby to lead', () => standby.leadership.leading, 3_000);
  assert.equal(standby.leadership.epoch, 2);
  await until('the new leader to make the Instance', async () => (await instances(standbyStore)) === 1);
});

test('a leader that stops talking (paused) steps down on its own; its lock is free for another lease', { skip: backend.skip }, async (t) => {
  const url = await backend.freshUrl();
  await openForTest(t, url); // the schema
  const a = await lease(url, { sessionTimeoutMs: 1_000, heartbeatMs: 100, retryMs: 2_000 });
  t.after(() => a.lease.stop());
  assert.deepEqual({ leading: a.lease.leading, epoch: a.lease.epoch, events: a.events }, { leading: true, epoch: 1, events: ['acquired'] });
  const b = await lease(url, { retryMs: 100 });
  t.after(() => b.lease.stop());
  assert.equal(b.lease.leading, false);

  pause(1_500);
  // Its first timer after the pause notices the silent heartbeat, before any socket news.
  await until('the paused leader to step down', () => !a.lease.leading);
  assert.match(a.log.warnings.join('\n'), /no heartbeat answered for \d+ ms/);
  assert.deepEqual(a.events, ['acquired', 'lost']);
  await until('the other lease to lead', () => b.lease.leading, 5_000);
  assert.equal(b.lease.epoch, 2);
  assert.equal(a.lease.leading, false, 'the old leader is a standby now');
});

test('the server ends a silent lease session (idle_session_timeout), freeing the lock for another lease', { skip: backend.skip }, async (t) => {
  const url = await backend.freshUrl();
  await openForTest(t, url);
  // No heartbeat within the session timeout: the session idles out, as a paused process's would.
  const a = await lease(url, { sessionTimeoutMs: 500, heartbeatMs: 60_000, retryMs: 60_000 });
  t.after(() => a.lease.stop());
  assert.equal(a.lease.epoch, 1);
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  t.after(() => probe.end());
  const tryLock = async () => (await probe.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [0x4c415454])).rows[0]!.locked;
  assert.equal(await tryLock(), false, 'held by the lease');
  await until('the server to free the lock', tryLock, 5_000);
  await until('the lease to hear of it', () => !a.lease.leading);
  assert.match(a.log.warnings.join('\n'), /its connection was lost; leadership given up/);
});

test('a leader whose write is fenced steps down at once, writes nothing, and leads again only with a new epoch', { skip: backend.skip }, async (t) => {
  const url = await backend.freshUrl();
  const store = await openForTest(t, url);
  const log = recording();
  const plane = controlPlane(url, store, true, log);
  await plane.start();
  t.after(() => plane.stop());
  assert.deepEqual({ leading: plane.leadership.leading, epoch: plane.leadership.epoch }, { leading: true, epoch: 1 });

  // Another replica took over without this one noticing (its lease still looks held).
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  t.after(() => other.end());
  assert.equal(await bumpLeaderEpoch(other), 2);

  await store.create(workload('web'));
  await until('the fenced leader to step down', () => !plane.leadership.leading);
  assert.deepEqual(
    log.warnings.filter((m) => /superseded/.test(m)),
    ["leader lease: this replica's leadership (epoch 1) was superseded by epoch 2; write refused; stepping down, and trying again as a standby"],
    'one clear warning, and no reconcile error per refused write',
  );
  assert.ok(!log.warnings.some((m) => /^reconcile .* failed/.test(m)), log.warnings.join('\n'));
  // Its lock is free again (nobody else holds it here): it leads again, at a new epoch, and only then writes.
  await until('it to lead again', () => plane.leadership.leading, 5_000);
  assert.equal(plane.leadership.epoch, 3);
  await until('the Instance', async () => (await instances(store)) === 1);
  const log2 = await other.query<{ revision: string; kind: string }>("select revision, kind from changes where kind = 'Instance' order by revision");
  assert.equal(log2.rows.length, 1, 'the Instance is made once, by the new leadership');
});
