// The leader lease between two ControlPlanes on one PostgreSQL database: while one holds it, the
// other's leader controllers do not run (a Workload written through it gets no Instance); when
// the holder stops, the standby takes the lease with a larger epoch and reconciles.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { resolveConfig } from '../../controlplane/config.ts';
import { ControlPlane } from '../../controlplane/control-plane.ts';
import { PostgresLeaderLease } from '../../controlplane/leader-lease.ts';
import type { ObjectStore } from '../../store/types.ts';
import { workload } from '../support/fixtures.ts';
import { openForTest, postgresBackend } from '../support/store-backends.ts';

const backend = postgresBackend();
before(() => (backend.skip ? undefined : backend.start()));
after(() => backend.stop());

const quiet = { warn: () => {}, error: () => {} };

function controlPlane(url: string, store: ObjectStore, reconciler: boolean): ControlPlane {
  const config = resolveConfig({ logger: false, reconciler });
  return new ControlPlane({ config, store, now: () => new Date(), log: quiet, lease: new PostgresLeaderLease(url, quiet) });
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
