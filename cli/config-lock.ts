// The lock around a token refresh (see session.ts): a file next to the config, created with the
// OS's exclusive create ('wx', O_EXCL), so of the processes racing for it exactly one gets it. It
// holds a token of its holder's, so a holder slow enough to have its lock taken over as stale does
// not remove its successor's on the way out; a lock left by a crashed process goes stale.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CliError } from './errors.ts';

export interface LockTimings {
  /** How long to wait for another process's lock before giving up. */
  waitMs: number;
  /** A lock older than this was left by a process that died holding it. */
  staleMs: number;
  pollMs: number;
}

const TIMINGS: LockTimings = { waitMs: 10_000, staleMs: 15_000, pollMs: 50 };

/** Runs fn holding the lock at lockPath. */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, timings: LockTimings = TIMINGS): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + timings.waitMs;
  for (;;) {
    try {
      writeFileSync(lockPath, token, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (modifiedAt(lockPath) ?? Date.now());
      if (age > timings.staleMs) rmSync(lockPath, { force: true });
      else if (Date.now() > deadline) throw new CliError(`another lattice process holds ${lockPath}; if none is running, remove the file`);
      else await new Promise((resolve) => setTimeout(resolve, timings.pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    if (holderOf(lockPath) === token) rmSync(lockPath, { force: true });
  }
}

function modifiedAt(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs;
}

function holderOf(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
