// Shared by the process runtime tests: temp data dirs, spec builders, bounded waits, and a check
// that no test process outlives the suite (every instance runs with its cwd under ROOT).
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { DeploySpec } from '../../agent/runtime/types.ts';
import { ProcessRuntime } from '../../agent/runtime/process-runtime.ts';
import type { ProcessRuntimeOptions } from '../../agent/runtime/process-runtime.ts';
import type { WorkloadSpec } from '../../schemas/types.gen.ts';

export const ROOT = mkdtempSync(join(tmpdir(), 'lattice-process-runtime-'));
export const NODE = process.execPath;

export function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(ROOT, 'data-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;
export function spec(template: WorkloadSpec, options: { uid?: string; templateHash?: string; env?: Record<string, string> } = {}): DeploySpec {
  counter += 1;
  return {
    uid: options.uid ?? `inst-${process.pid}-${counter}`,
    name: `web-${counter}`,
    namespace: 'team-a',
    workload: 'web',
    templateHash: options.templateHash ?? 'h1',
    template,
    env: options.env ?? {},
  };
}

/**
 * A runtime with test-sized timings whose instances are all stopped after the test (and whose
 * leftover process groups are killed even if stop fails).
 */
export async function openRuntime(t: TestContext, options: Partial<ProcessRuntimeOptions> & { dataDir: string }): Promise<ProcessRuntime> {
  const runtime = await ProcessRuntime.open({
    stopGraceMs: 2_000,
    backoff: { initialMs: 200, maxMs: 5_000 },
    healthIntervalScale: 0.1,
    healthTimeoutMs: 2_000,
    pollMs: 100,
    logPollMs: 50,
    ...options,
  });
  t.after(async () => {
    try {
      for (const instance of runtime.list()) await runtime.stop(instance.uid);
    } catch {
      // closed already: killLeftovers below takes care of its processes
    }
    await runtime.close();
  });
  return runtime;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until predicate returns a truthy value; fails after timeoutMs instead of hanging. */
export async function waitFor<T>(predicate: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZXx] /s.test(stat);
  } catch {
    return false;
  }
}

/** Throws ESRCH once the process is gone; waits for that (the kernel may take a moment). */
export async function waitGone(pid: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }, `pid ${pid} to be gone`, timeoutMs);
}

export { freePort } from '../../agent/runtime/host-ports.ts';

export async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

/** Processes (other than zombies) whose working directory is under ROOT, i.e. started by a test. */
export function processesUnderRoot(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd.startsWith(ROOT)) found.push(Number(entry));
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

/** Kills whatever the tests left behind and says what it was. */
export function killLeftovers(): number[] {
  const leftovers = processesUnderRoot();
  for (const pid of leftovers) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // not a group leader
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return leftovers;
}

/** For a file's after(): kills leftovers, then removes ROOT. */
export function cleanupRoot(): void {
  killLeftovers();
  rmSync(ROOT, { recursive: true, force: true });
}
