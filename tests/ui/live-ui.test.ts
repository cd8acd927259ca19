// The web UI in headless Chromium against the real thing: a control plane with the reconciler,
// a real `lattice agent` process (process runtime), a real workload process. One page, never
// reloaded: sign in; a workload applied through the API appears and turns Running; its detail
// shows conditions, instance and endpoint (and no secret value); the agent is killed and goes
// NotReady; another tenant's workload never shows; the server restarts and the page reconnects.
import assert from 'node:assert/strict';
import type { Page, Request } from 'playwright-core';
import { LatticeClient } from '../../client/api-client.ts';
import type { Event as LatticeEvent, Workload } from '../../schemas/types.gen.ts';
import { ensureUiBuilt } from '../../ui/build.ts';
import { e2eTest, helloWorkload, httpText, restartableControlPlane } from '../e2e/support.ts';
import { chromiumSkip, launchChromium, liveStatus, screenshot, signIn } from './browser.ts';

const SECRET_VALUE = 'correct-horse-battery-staple-7f3a';
const WAIT = { timeout: 30_000 };

function row(page: Page, view: string, key: string) {
  return page.locator(`${view} tr[data-key="${key}"]`);
}

/** What the page asked the server to do: anything but reading and its own session is a change. */
function changingRequests(requests: readonly Request[]): string[] {
  return requests
    .filter((r) => r.method() !== 'GET' && r.method() !== 'HEAD')
    .map((r) => `${r.method()} ${new URL(r.url()).pathname}`)
    .filter((r) => !/^POST \/api\/v1\/auth\/(login|refresh|logout)$/.test(r));
}

const server = restartableControlPlane();

e2eTest('the UI in Chromium: sign in, live workloads, detail, agent NotReady, tenancy, server restart', { timeout: 150_000, skip: chromiumSkip(), controlPlane: () => server.start() }, async (env) => {
  const { t } = env;
  env.cleanup(() => server.stop());
  t.diagnostic(`web UI: ${await ensureUiBuilt()}`);
  const { page, problems } = await launchChromium(t);
  const requests: Request[] = [];
  page.on('request', (request) => requests.push(request));
  const agent = await env.startAgent({ name: 'ui-agent', labels: { zone: 'test' } });

  // ---- sign in (tenant "tenant", password from the e2e harness)
  await page.goto(`${env.url}/`);
  await screenshot(page, 'sign-in');
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  await signIn(page, 'tenant', 'tenant-password-1');
  await page.getByRole('heading', { name: 'Workloads' }).waitFor(WAIT);
  await liveStatus(page, 'live').waitFor(WAIT);
  await page.getByText('tenant · tenant').waitFor(WAIT);

  // ---- apply through the API: the row appears and turns Running without a reload
  const marker = env.marker('ui');
  const hello = helloWorkload({ name: 'hello', marker });
  hello.spec.env = [...(hello.spec.env ?? []), { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
  hello.spec.resources = { cpu: '250m', memory: '64Mi' };
  await env.user.apply([{ apiVersion: 'lattice/v1', kind: 'Secret', metadata: { name: 'db' }, spec: { data: { password: SECRET_VALUE } } }, hello]);
  const helloRow = row(page, 'workloads-view', 'tenant/hello');
  await helloRow.waitFor(WAIT);
  await helloRow.filter({ hasText: 'Running' }).waitFor(WAIT);
  await helloRow.filter({ hasText: '1/1' }).waitFor(WAIT);
  const running = (await env.user.get<Workload>('workloads', 'tenant', 'hello')).status!;
  const endpoint = running.endpoints![0]!;
  const link = helloRow.locator('a.endpoint');
  assert.equal(await link.getAttribute('href'), new URL(endpoint.url).href, 'the endpoint is a link to the real URL');
  assert.match((await httpText(endpoint.url)) ?? '(no answer)', /hello from lattice/);
  await screenshot(page, 'workloads');

  // ---- the detail: spec summary, conditions, the instance on ui-agent, the endpoint; no secret value
  await helloRow.getByRole('link', { name: 'hello' }).click();
  await page.getByRole('heading', { name: 'hello', exact: true }).waitFor(WAIT);
  assert.equal(new URL(page.url()).pathname, '/workloads/tenant/hello');
  await page.locator('workload-detail table.conditions tr', { hasText: 'Available' }).filter({ hasText: 'MinimumReplicasReady' }).waitFor(WAIT);
  const instance = page.locator('workload-detail table.instances tbody tr');
  await instance.filter({ hasText: 'ui-agent' }).filter({ hasText: 'Running' }).filter({ hasText: 'Healthy' }).waitFor(WAIT);
  assert.equal(await instance.count(), 1);
  await page.locator(`workload-detail .endpoints a[href="${new URL(endpoint.url).href}"]`).waitFor(WAIT);
  await page.locator('workload-detail dl.spec', { hasText: 'DB_PASSWORD (from secret db.password)' }).waitFor(WAIT);
  await page.locator('workload-detail table.events', { hasText: 'Scheduled' }).waitFor(WAIT);
  assert.equal(await page.getByText(SECRET_VALUE).count(), 0, 'the secret value is nowhere on the page');
  await screenshot(page, 'workload-detail');

  // ---- events, newest first
  await page.getByRole('link', { name: 'Events', exact: true }).click();
  await page.locator('events-view tr', { hasText: 'Workload/hello' }).first().waitFor(WAIT);
  const shownTimes = await page.locator('events-view tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-time') ?? ''));
  assert.ok(shownTimes.length >= 1);
  assert.deepEqual(shownTimes, [...shownTimes].sort().reverse(), 'newest first');
  await screenshot(page, 'events');

  // ---- agents: Ready with its runtime, allocation and labels; killed, it goes NotReady live
  await page.getByRole('link', { name: 'Agents', exact: true }).click();
  const agentRow = row(page, 'agents-view', 'ui-agent');
  await agentRow.locator('.badge', { hasText: /^Ready$/ }).waitFor(WAIT);
  await agentRow.filter({ hasText: 'process' }).filter({ hasText: 'zone=test' }).waitFor(WAIT);
  assert.equal((await agentRow.locator('td').nth(5).textContent())?.trim(), '1', 'one instance on it');
  const bars = agentRow.locator('meter');
  assert.equal(await bars.count(), 2, 'CPU and memory bars');
  assert.deepEqual([await bars.nth(0).getAttribute('value'), await bars.nth(1).getAttribute('value')], ['250', String(64 * 2 ** 20)], "hello's requests are allocated");
  await agentRow.filter({ hasText: '250m / ' }).filter({ hasText: '64Mi / ' }).waitFor(WAIT);
  await screenshot(page, 'agents');
  await agent.kill('SIGKILL');
  await agentRow.locator('.badge', { hasText: /^NotReady$/ }).waitFor(WAIT);
  await screenshot(page, 'agents-not-ready');

  // ---- another tenant's workload never appears (while the tenant's own later one does)
  const anonymous = new LatticeClient({ server: env.url });
  await anonymous.register('intruder', 'intruder-password-1');
  const intruder = anonymous.withToken((await anonymous.login('intruder', 'intruder-password-1')).accessToken);
  await intruder.apply([{ ...helloWorkload({ name: 'intruders-project', marker: env.marker('intruder') }) }]);
  await env.user.apply([helloWorkload({ name: 'after-intruder', marker: env.marker('after') })]);
  await page.getByRole('link', { name: 'Workloads', exact: true }).click();
  await row(page, 'workloads-view', 'tenant/after-intruder').waitFor(WAIT);
  assert.equal(await page.getByText('intruders-project').count(), 0);
  await page.getByRole('link', { name: 'Events', exact: true }).click();
  await page.locator('events-view tr', { hasText: 'Workload/after-intruder' }).first().waitFor(WAIT);
  assert.equal(await page.getByText('intruders-project').count(), 0);

  // ---- the server restarts: "Reconnecting…", then live again, and new changes arrive
  await page.getByRole('link', { name: 'Workloads', exact: true }).click();
  await liveStatus(page, 'live').waitFor(WAIT);
  await server.stop();
  await liveStatus(page, 'reconnecting').waitFor(WAIT);
  await screenshot(page, 'reconnecting');
  const restarted = await server.start();
  await env.retarget(restarted.url);
  await liveStatus(page, 'live').waitFor(WAIT);
  await env.user.apply([{ ...helloWorkload({ name: 'after-restart', marker: env.marker('restart') }), spec: { command: ['sleep', '600'], replicas: 0 } }]);
  await row(page, 'workloads-view', 'tenant/after-restart').waitFor(WAIT);
  await screenshot(page, 'reconnected');

  assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was never reloaded');
  assert.deepEqual(changingRequests(requests), [], 'the UI only reads');
  // A reconnect logs the refused connections while the server is away; nothing else may complain.
  assert.deepEqual(problems.filter((p) => !/WebSocket connection to .* failed|Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(p)), []);
  const events = await env.user.list<LatticeEvent>('events', { namespace: 'tenant' });
  env.note(`${events.items.length} events in tenant`);
});
