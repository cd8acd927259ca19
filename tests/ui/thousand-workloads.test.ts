// 1,000 workloads arriving live in one burst: all rows appear without a reload, renders are
// batched (a handful, not one per watch event), rows stay keyed and in namespace/name order
// while updates, inserts and deletes arrive, and the label filter narrows them. The times are
// printed as diagnostics, not asserted (benchmarks live in bench/).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Workload } from '../../schemas/types.gen.ts';
import { ensureUiBuilt } from '../../ui/build.ts';
import { startTestServer } from '../support/server.ts';
import { chromiumSkip, launchChromium, liveStatus, screenshot, signIn } from './browser.ts';

const COUNT = 1_000;
const WAIT = { timeout: 60_000 };

const workload = (i: number, replicas = 1): Workload => ({
  apiVersion: 'lattice/v1',
  kind: 'Workload',
  metadata: { name: `w-${String(i).padStart(4, '0')}`, labels: { batch: i % 2 ? 'odd' : 'even' } },
  spec: { command: ['sleep', '600'], replicas },
});

interface PageProbe {
  renders: number;
  /** The longest the page's main thread went without running a 20 ms timer: how long it froze. */
  longestStallMs: number;
}

test(`${COUNT} workloads arrive live: batched renders, keyed rows in a stable order, filters`, { timeout: 150_000, skip: chromiumSkip() }, async (t) => {
  await ensureUiBuilt();
  // The reconciler is off: the objects stay exactly as applied (no instances, no events).
  // Alice stores more than a tenant's default limits allow.
  const server = await startTestServer(t, { limits: { objectsPerNamespace: 2_000, replicasPerUser: 2_000 } });
  const { client: alice } = await server.user('alice', 'alice-password-1');
  const { page, problems } = await launchChromium(t);
  await page.goto(`${server.url}/`);
  await signIn(page, 'alice', 'alice-password-1');
  await page.getByText('No workloads yet').waitFor(WAIT);
  await liveStatus(page, 'live').waitFor(WAIT);

  // Count renders of the table body (one MutationObserver callback per render) and stalls.
  await page.evaluate(() => {
    const probe = { renders: 0, longestStallMs: 0 };
    (window as unknown as { probe: PageProbe }).probe = probe;
    const tbody = document.querySelector('lattice-app')!.shadowRoot!.querySelector('workloads-view')!.shadowRoot!.querySelector('tbody')!;
    new MutationObserver(() => probe.renders++).observe(tbody, { childList: true, subtree: true, characterData: true });
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      probe.longestStallMs = Math.max(probe.longestStallMs, now - last);
      last = now;
    }, 20);
  });

  const started = Date.now();
  await alice.apply(Array.from({ length: COUNT }, (_, i) => workload(i)));
  const applied = Date.now();
  await page.getByText(`${COUNT} of ${COUNT}`).waitFor(WAIT);
  const rows = page.locator('workloads-view tbody tr');
  await rows.nth(COUNT - 1).waitFor(WAIT);
  const rendered = Date.now();
  const probe = await page.evaluate(() => (window as unknown as { probe: PageProbe }).probe);
  t.diagnostic(`figure: apply of ${COUNT} took ${applied - started} ms; all ${COUNT} rows shown ${rendered - applied} ms after; ${probe.renders} renders; longest main-thread stall ${Math.round(probe.longestStallMs)} ms`);
  assert.equal(await rows.count(), COUNT);
  // Without batching every one of the 1,000 watch events (each its own task) would be a render.
  assert.ok(probe.renders < COUNT / 10, `renders are batched: ${probe.renders} for ${COUNT} events`);
  const keys = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));
  assert.deepEqual(keys, [...keys].sort(), 'namespace/name order');
  await screenshot(page, 'workloads-1000');

  // ---- updates, an insert and a delete: the same row elements stay where they were
  const marked = page.locator('workloads-view tr[data-key="alice/w-0500"]');
  await marked.evaluate((tr) => ((tr as unknown as { mark: string }).mark = 'still-me'));
  await alice.apply([workload(500, 3), workload(10, 2), { ...workload(0), metadata: { name: 'w-0500a', labels: { batch: 'new' } } }]);
  await alice.delete('workloads', 'alice', 'w-0001');
  await marked.filter({ hasText: '0/3' }).waitFor(WAIT);
  await page.locator('workloads-view tr[data-key="alice/w-0500a"]').waitFor(WAIT);
  await page.locator('workloads-view tr[data-key="alice/w-0001"]').waitFor({ state: 'detached', ...WAIT });
  assert.equal(await marked.evaluate((tr) => (tr as unknown as { mark?: string }).mark), 'still-me', 'the row was updated in place (keyed)');
  const after = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));
  assert.equal(after.length, COUNT);
  assert.equal(after.indexOf('alice/w-0500a'), after.indexOf('alice/w-0500') + 1, 'the newcomer sits in name order');
  assert.deepEqual(after, [...after].sort());

  // ---- filters (kept in the address)
  await page.getByLabel('Labels').fill('batch=odd');
  await page.getByText(`499 of ${COUNT}`).waitFor(WAIT); // w-0001 (odd) was deleted
  assert.match(page.url(), /labels=batch%3Dodd/);
  await page.getByLabel('Labels').fill('batch in (new)');
  await page.getByText(`1 of ${COUNT}`).waitFor(WAIT);
  await page.getByLabel('Labels').fill('batch=');
  await page.getByText(`0 of ${COUNT}`).waitFor(WAIT);
  await page.getByLabel('Labels').fill('batch in (');
  await page.getByRole('alert').waitFor(WAIT);
  await page.getByLabel('Labels').fill('');
  await page.getByLabel('Namespace').selectOption('alice');
  await page.getByText(`${COUNT} of ${COUNT}`).waitFor(WAIT);
  assert.match(page.url(), /namespace=alice/);
  assert.deepEqual(problems, []);
});
