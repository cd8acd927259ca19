// Headless Chromium from Debian's `chromium` package, driven by playwright-core (never a
// downloaded browser). Without it the UI tests skip with one line, except under CI=true, where
// they run and fail. Screenshots go to test-output/ui/ (git-ignored).
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO } from '../e2e/support.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO, 'test-output', 'ui');

/** The skip reason, or false when the tests must run (Chromium is there, or CI says so). */
export function chromiumSkip(): string | false {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return false;
  return `no ${CHROMIUM}: apt-get install chromium to run the UI tests`;
}

/** A fresh browser profile; closed (and removed) when the test ends, whatever happens. */
/** problems: the page's exceptions and console errors (a CSP refusal is one), for the test to assert. */
export async function launchChromium(t: TestContext): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const profile = await mkdtemp(join(tmpdir(), 'lattice-ui-'));
  let context: BrowserContext | undefined;
  t.after(async () => {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  });
  // The pages are served on 127.0.0.1; every host name resolves to "not found", so Chromium's own
  // look-ups (it resolves names even for about:blank) never send a DNS query off the machine.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return { context, page, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** The live indicator's state: connecting, live or reconnecting. */
export function liveStatus(page: Page, status: 'live' | 'reconnecting' | 'connecting') {
  return page.locator(`live-indicator [data-status="${status}"]`);
}
