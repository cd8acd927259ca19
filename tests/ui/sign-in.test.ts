// Signing in to the web UI in Chromium: a wrong password is refused with the server's reason; a
// password session survives a reload, refreshes its access token before it expires and is
// revoked on sign-out; an API token signs in too, a bad one is refused; deep links work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatticeApiError, LatticeClient } from '../../client/api-client.ts';
import { ensureUiBuilt } from '../../ui/build.ts';
import { startTestServer } from '../support/server.ts';
import { chromiumSkip, launchChromium, liveStatus, screenshot, signIn } from './browser.ts';

const WAIT = { timeout: 20_000 };

test('sign in with a password or a token; reload, refresh, sign out; deep links', { timeout: 120_000, skip: chromiumSkip() }, async (t) => {
  await ensureUiBuilt();
  // Access tokens for 62 s: the page refreshes 60 s before expiry, so within about 2 s.
  const server = await startTestServer(t, { accessTokenTtlSeconds: 62 });
  const { client: alice } = await server.user('alice', 'alice-password-1');
  await alice.apply([{ apiVersion: 'lattice/v1', kind: 'Workload', metadata: { name: 'web' }, spec: { command: ['sleep', '60'] } }]);
  const { page, problems } = await launchChromium(t);

  // ---- a wrong password: refused, with the reason
  await page.goto(`${server.url}/`);
  await signIn(page, 'alice', 'not-the-password');
  await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor(WAIT);
  await screenshot(page, 'sign-in-refused');

  // ---- the right one; the access token is refreshed in the background
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.status() === 200, WAIT);
  await signIn(page, 'alice', 'alice-password-1');
  await page.locator('workloads-view tr[data-key="alice/web"]').waitFor(WAIT);
  await refreshed;
  await liveStatus(page, 'live').waitFor(WAIT);

  // ---- a reload keeps the session (sessionStorage); a deep link opens its view
  await page.reload();
  await page.locator('workloads-view tr[data-key="alice/web"]').waitFor(WAIT);
  await page.goto(`${server.url}/workloads/alice/web`);
  await page.getByRole('heading', { name: 'web' }).waitFor(WAIT);
  await page.goto(`${server.url}/workloads/alice/nope`);
  await page.getByText('Workload alice/nope not found').waitFor(WAIT);

  // ---- sign out: back to the form, and the session is revoked on the server
  const token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('lattice.session') ?? '{}') as { token?: string }).token);
  assert.ok(token);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Username').waitFor(WAIT);
  const revoked = new LatticeClient({ server: server.url, token });
  await assert.rejects(revoked.whoami(), (error: unknown) => error instanceof LatticeApiError && error.status === 401);
  await page.goto(`${server.url}/workloads`);
  await page.getByLabel('Username').waitFor(WAIT);

  // ---- a token: a bad one is refused, an API token signs in
  const { token: apiToken } = await alice.request<{ token: string }>('POST', '/auth/tokens', { body: { name: 'ui-test' } });
  await page.getByRole('button', { name: 'Sign in with a token instead' }).click();
  await page.getByLabel('Token').fill('lat_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').waitFor(WAIT);
  await page.getByLabel('Token').fill(apiToken);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText('alice · alice').waitFor(WAIT);
  await page.locator('workloads-view tr[data-key="alice/web"]').waitFor(WAIT);
  await page.goto(`${server.url}/agents`);
  await page.getByRole('heading', { name: 'Agents' }).waitFor(WAIT);

  assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), [], 'only the refused sign-ins complain');
});
