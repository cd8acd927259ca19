// The workload detail in Chromium against a real agent: an instance's log follows live (a line
// the process just printed shows within 2 s; colour codes stripped; pause and resume), its CPU
// and memory charts have points and grow, and a crashed instance shows its exit code and the
// last lines it printed. The layout holds at 390 px.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Workload } from '../../schemas/types.gen.ts';
import { ensureUiBuilt } from '../../ui/build.ts';
import { e2eTest, scriptWorkload, waitFor } from '../e2e/support.ts';
import { chromiumSkip, launchChromium, screenshot, signIn } from './browser.ts';

const WAIT = { timeout: 30_000 };

async function pointCount(page: Page, chart: 'cpu' | 'memory'): Promise<number> {
  const points = (await page.locator(`instance-panel figure.${chart} polyline`).getAttribute('points')) ?? '';
  return points.trim() === '' ? 0 : points.trim().split(/\s+/).length;
}

async function logLines(page: Page): Promise<string[]> {
  return ((await page.locator('instance-panel pre.logs').textContent()) ?? '').split('\n').filter(Boolean);
}

e2eTest('the workload detail in Chromium: live logs, CPU and memory charts, a crash at a glance, 390 px', { timeout: 150_000, skip: chromiumSkip() }, async (env) => {
  const { t, user } = env;
  t.diagnostic(`web UI: ${await ensureUiBuilt()}`);
  const { page, problems } = await launchChromium(t);
  await env.startAgent({ name: 'detail-agent', env: { LATTICE_AGENT_STATS_SECONDS: '0.5' } });
  // Ticks every 200 ms with the time it printed them, in colour; holds 16 MB.
  const ticker = scriptWorkload('ticker', env.marker('ticker'), "const held = Buffer.alloc(16 << 20, 1); setInterval(() => console.log('tick ' + Date.now() + ' \\u001b[32mgreen\\u001b[0m ' + held[0]), 200)", {
    resources: { cpu: '250m', memory: '128Mi' },
  });
  const crasher = scriptWorkload('crasher', env.marker('crasher'), "console.log('about to fail'); setTimeout(() => process.exit(7), 300)", { restartPolicy: 'OnFailure' });
  await user.apply([ticker, crasher] as Workload[]);

  await page.goto(`${env.url}/workloads/tenant/ticker`);
  await signIn(page, 'tenant', 'tenant-password-1');
  await page.locator('instance-panel pre.logs', { hasText: 'tick' }).waitFor(WAIT);

  // Live: at some moment the page shows a line printed at most 2 s before.
  const freshest = await waitFor(
    async () => {
      const last = (await logLines(page)).at(-1) ?? '';
      const printed = Number(/^tick (\d+)/.exec(last)?.[1]);
      const lag = Date.now() - printed;
      return lag <= 2_000 ? lag : undefined;
    },
    15_000,
    'a line printed within the last 2 s on the page',
  );
  t.diagnostic(`log lag seen: ${freshest} ms`);
  const text = (await page.locator('instance-panel pre.logs').textContent()) ?? '';
  assert.ok(!text.includes('\u001b') && text.includes(' green '), 'colour codes are stripped, the words kept');

  // Charts: points, and more of them as the agent samples.
  const first = await waitFor(async () => ((await pointCount(page, 'cpu')) >= 2 ? pointCount(page, 'cpu') : undefined), 20_000, 'CPU points');
  await waitFor(async () => (await pointCount(page, 'cpu')) > first, 20_000, 'the CPU chart to grow');
  assert.ok((await pointCount(page, 'memory')) >= 2);
  assert.match((await page.locator('instance-panel figure.memory .current').textContent()) ?? '', /Mi of 128Mi$/);
  assert.match((await page.locator('instance-panel figure.cpu .current').textContent()) ?? '', / of 250m$/);
  await screenshot(page, 'workload-detail-logs-charts');

  // Pause holds the lines; resume follows again.
  await page.locator('instance-panel button.pause').click();
  await page.locator('instance-panel .log-state', { hasText: 'paused' }).waitFor(WAIT);
  const held = (await logLines(page)).at(-1);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal((await logLines(page)).at(-1), held, 'nothing new while paused');
  await page.locator('instance-panel button.resume').click();
  await waitFor(async () => (await logLines(page)).at(-1) !== held, 10_000, 'new lines after resume');

  // A crash at a glance: exit code and what it printed.
  await page.goto(`${env.url}/workloads/tenant/crasher`);
  await page.locator('instance-panel .exit-code', { hasText: '7' }).waitFor(WAIT);
  await page.locator('instance-panel pre.logs', { hasText: 'about to fail' }).waitFor(WAIT);
  await screenshot(page, 'workload-detail-crash');

  // 390 px wide (a phone): nothing runs off the side.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${env.url}/workloads/tenant/ticker`);
  await page.locator('instance-panel pre.logs', { hasText: 'tick' }).waitFor(WAIT);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await screenshot(page, 'workload-detail-390px');
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
  assert.deepEqual(problems, []);
});
