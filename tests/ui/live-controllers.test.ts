// The ReactiveControllers under node against the real server (no browser needed): a
// WatchController borrows the page's one watch of its kind on hostConnected and gives it back on
// hostDisconnected; a burst of watch events becomes one render per batch; the live status
// follows the watches. The host is a plain ReactiveControllerHost, which is all Lit asks of one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Workload } from '../../schemas/types.gen.ts';
import { LiveData } from '../../ui/src/live-data.ts';
import { WatchController, type Scheduler } from '../../ui/src/watch-controller.ts';
import { startTestServer } from '../support/server.ts';
import { waitFor } from '../e2e/support.ts';

class Host implements ReactiveControllerHost {
  readonly controllers: ReactiveController[] = [];
  updates = 0;
  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }
  removeController(controller: ReactiveController): void {
    this.controllers.splice(this.controllers.indexOf(controller), 1);
  }
  requestUpdate(): void {
    this.updates++;
  }
  get updateComplete(): Promise<boolean> {
    return Promise.resolve(true);
  }
  connect(): void {
    for (const c of this.controllers) c.hostConnected?.();
  }
  disconnect(): void {
    for (const c of this.controllers) c.hostDisconnected?.();
  }
}

/** A scheduler the test runs by hand: what it holds is what a batch window would. */
function manualScheduler() {
  const pending: (() => void)[] = [];
  const schedule: Scheduler = (fn) => {
    pending.push(fn);
    return () => pending.splice(pending.indexOf(fn), 1);
  };
  return { schedule, pending, flush: () => pending.splice(0).forEach((fn) => fn()) };
}

const workload = (name: string): Workload => ({ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name }, spec: { command: ['sleep', '60'] } });

test('one watch per kind, shared; subscribed on hostConnected, given back on hostDisconnected; renders batched', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  const live = new LiveData(() => alice, { retryMs: 50, maxRetryMs: 200 });
  t.after(() => live.close());
  const list = new Host();
  const detail = new Host();
  const scheduler = manualScheduler();
  const a = new WatchController<Workload>(list, live, 'Workload', { schedule: scheduler.schedule });
  const b = new WatchController<Workload>(detail, live, 'Workload', { schedule: scheduler.schedule });
  assert.equal(a.cache, undefined, 'nothing is watched before the host connects');

  list.connect();
  detail.connect();
  assert.equal(a.cache, b.cache, 'one cache (one watch) for the kind');
  assert.equal(list.updates, 1, 'a render on connect');
  await waitFor(() => a.synced && live.status === 'live', 10_000, 'live');
  scheduler.flush();

  // A burst of 300 watch events: each change only (re)arms the one pending render per host.
  const before = list.updates;
  await alice.apply(Array.from({ length: 300 }, (_, i) => workload(`w-${String(i).padStart(3, '0')}`)));
  await waitFor(() => a.items.length === 300, 10_000, '300 workloads in the cache');
  assert.equal(list.updates, before, 'no render until the batch window ends');
  assert.equal(scheduler.pending.length, 2, 'one pending render per host, however many events');
  scheduler.flush();
  assert.equal(list.updates, before + 1);
  assert.equal(detail.updates, before + 1);
  assert.equal(a.cache!.stats.watches, 1);
  assert.deepEqual(a.items.slice(0, 2).map((w) => w.metadata.name), ['w-000', 'w-001']);
  assert.equal(b.get('alice', 'w-299')?.metadata.name, 'w-299');

  // The detail view leaves: the watch stays for the list; when the list leaves too, it stops.
  const cache = a.cache!;
  detail.disconnect();
  assert.equal(cache.status, 'live');
  list.disconnect();
  assert.equal(cache.status, 'stopped');
  assert.equal(a.items.length, 0, 'a disconnected controller shows nothing');
  await alice.apply([workload('while-away')]);
  assert.equal(scheduler.pending.length, 0, 'no render is due for a disconnected host');

  // Back again: the same cache resumes from its revision (no new list) and catches up.
  list.connect();
  assert.equal(a.cache, cache);
  await waitFor(() => a.get('alice', 'while-away'), 10_000, 'the change made while away');
  assert.equal(cache.stats.lists, 1);
  assert.equal(cache.stats.watches, 2);
});

test('the page-wide status is live only while every watch in use is, and names why not', async (t) => {
  const server = await startTestServer(t);
  const { client: alice } = await server.user('alice');
  let client = alice;
  const live = new LiveData(() => client, { retryMs: 50, maxRetryMs: 200 });
  t.after(() => live.close());
  const seen: string[] = [];
  live.subscribe(() => seen.push(live.status));
  const host = new Host();
  new WatchController(host, live, 'Workload');
  new WatchController(host, live, 'Agent');
  host.connect();
  await waitFor(() => live.status === 'live', 10_000, 'live');
  // The token is swapped for a bad one and the Workload watch reconnects: refused, with a 401 to show.
  client = alice.withToken('no-longer-valid');
  const lease = live.use('Workload');
  lease.cache.stop();
  lease.cache.start();
  lease.release();
  await waitFor(() => live.status === 'reconnecting' && /401/.test(live.lastError?.message ?? ''), 10_000, 'reconnecting with a 401');
  client = alice;
  await waitFor(() => live.status === 'live' && live.lastError === undefined, 10_000, 'live again');
  assert.equal(seen[0], 'connecting');
  assert.ok(seen.includes('reconnecting'));
  assert.equal(seen.at(-1), 'live');
  host.disconnect();
});
