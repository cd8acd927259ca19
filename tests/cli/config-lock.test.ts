// The config lock: one holder at a time across racing callers, a crashed holder's lock taken over,
// and a holder whose lock went stale leaving its successor's in place.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withLock } from '../../cli/config-lock.ts';
import { CliError } from '../../cli/errors.ts';

const FAST = { waitMs: 2_000, staleMs: 60_000, pollMs: 5 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function lockPath(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'config.yaml.lock');
}

test('callers racing for the lock hold it one at a time, and the last removes it', async (t) => {
  const path = lockPath(t);
  let holders = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 5 }, () =>
      withLock(path, async () => {
        most = Math.max(most, ++holders);
        await sleep(10);
        holders--;
      }, FAST),
    ),
  );
  assert.equal(most, 1);
  assert.equal(existsSync(path), false);
});

test('a lock left by a crashed process is taken over once stale; a fresh one is waited for, then refused', async (t) => {
  const path = lockPath(t);
  writeFileSync(path, 'crashed');
  await assert.rejects(withLock(path, async () => 'never', { ...FAST, waitMs: 30 }), CliError);
  const old = new Date(Date.now() - 120_000);
  utimesSync(path, old, old);
  assert.equal(await withLock(path, async () => 'ran', FAST), 'ran');
});

test("a holder whose lock was taken over as stale does not remove its successor's", async (t) => {
  const path = lockPath(t);
  let successorHolds!: () => void;
  const successorIn = new Promise<void>((resolve) => (successorHolds = resolve));
  let finishSuccessor!: () => void;
  const successorDone = new Promise<void>((resolve) => (finishSuccessor = resolve));
  const slow = withLock(path, async () => {
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old); // as if it had held the lock for two minutes
    const successor = withLock(path, async () => {
      successorHolds();
      await successorDone;
    }, FAST);
    await successorIn;
    return { successor }; // wrapped: returned bare, the promise would be awaited here
  }, FAST);
  const { successor } = await slow;
  assert.equal(existsSync(path), true, "the successor's lock is still there");
  finishSuccessor();
  await successor;
  assert.equal(existsSync(path), false);
});
