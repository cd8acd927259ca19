// Starting a process detached in its own process group with its output appended to a log file, and
// watching it: through the child's exit event when this agent started it, or by polling /proc when
// it was adopted after an agent restart (it is not our child then, so there is no exit status).
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { isProcessAlive, processStartTime, readProcStat } from './proc-fs.ts';

export interface ExitInfo {
  /** null when killed by a signal, or when unknown (an adopted process). */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat, if it could be read. */
  startTime: number | undefined;
  /** Resolves when the process has ended (never, once disposed). */
  exited: Promise<ExitInfo>;
  hasExited(): boolean;
  /** Stops watching; the process keeps running. */
  dispose(): void;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The environment of a process: PATH (the agent's), HOME (the instance's work directory, not the
 * agent user's home), LANG/TZ when the agent has them, then the spec's env on top.
 */
export function processEnv(specEnv: Record<string, string>, workDir: string): Record<string, string> {
  const base: Record<string, string> = { PATH: process.env.PATH || DEFAULT_PATH, HOME: workDir };
  for (const name of ['LANG', 'LC_ALL', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return { ...base, ...specEnv };
}

/** An exit as one number, the way a shell (and Kubernetes) reports it: 128 + signal number. */
export function exitCodeOf(exit: ExitInfo): number | undefined {
  if (exit.code !== null) return exit.code;
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return undefined;
}

export function describeExit(exit: ExitInfo): string {
  if (exit.code !== null) return `exit code ${exit.code}`;
  if (exit.signal) return `killed by ${exit.signal}, exit code ${exitCodeOf(exit)}`;
  return 'exit code unknown';
}

export type SpawnResult = { ok: true; process: TrackedProcess } | { ok: false; error: NodeJS.ErrnoException };

export interface SpawnOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
}

/**
 * Where `file` is found as execvp would find it (a path with a '/' relative to cwd, a bare name on
 * PATH), so that a command run through a wrapper still fails to start with ENOENT or EACCES rather
 * than as an exit of the wrapper.
 */
export function resolveExecutable(file: string, path: string, cwd: string): string {
  const candidates = file.includes('/') ? [isAbsolute(file) ? file : resolve(cwd, file)] : path.split(':').map((dir) => join(dir || '.', file));
  let denied = false;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') denied = true;
    }
  }
  const error: NodeJS.ErrnoException = new Error(`${denied ? 'permission denied' : 'not found'}: ${file}`);
  error.code = denied ? 'EACCES' : 'ENOENT';
  throw error;
}

/** Spawns without a shell, detached (own session and process group, survives the agent). */
export async function spawnTracked(options: SpawnOptions): Promise<SpawnResult> {
  const fd = openSync(options.logPath, 'a', 0o600);
  try {
    let child;
    try {
      child = spawn(options.file, options.args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', fd, fd] });
    } catch (error) {
      return { ok: false, error: error as NodeJS.ErrnoException };
    }
    let exitInfo: ExitInfo | undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        resolve(exitInfo);
      });
    });
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (spawnError) => resolve(spawnError));
    });
    if (error || child.pid === undefined) return { ok: false, error: error ?? new Error('spawn returned no pid') };
    // Later errors (e.g. from kill) must not become uncaught exceptions.
    child.on('error', () => {});
    child.unref();
    const pid = child.pid;
    return {
      ok: true,
      process: {
        pid,
        startTime: processStartTime(pid),
        exited,
        hasExited: () => exitInfo !== undefined,
        dispose: () => {
          child.removeAllListeners('exit');
        },
      },
    };
  } finally {
    closeSync(fd);
  }
}

/** Watches a process this agent did not start (or no longer is the parent of) by polling /proc. */
export function adoptProcess(pid: number, startTime: number | undefined, pollMs: number): TrackedProcess {
  let ended = false;
  let resolveExit: (exit: ExitInfo) => void = () => {};
  const exited = new Promise<ExitInfo>((resolve) => {
    resolveExit = resolve;
  });
  const check = (): void => {
    if (!ended && !isProcessAlive(pid, startTime)) {
      ended = true;
      clearInterval(timer);
      resolveExit({ code: null, signal: null });
    }
  };
  const timer = setInterval(check, pollMs);
  timer.unref();
  return {
    pid,
    startTime,
    exited,
    hasExited: () => {
      check();
      return ended;
    },
    dispose: () => clearInterval(timer),
  };
}

/**
 * Signals the process group led by pid. Skipped when pid now belongs to another process (it was
 * reused): the group of a dead leader is signalled still, to reach leftover members.
 */
export function signalProcessGroup(pid: number, startTime: number | undefined, signal: NodeJS.Signals): void {
  const stat = readProcStat(pid);
  if (stat && startTime !== undefined && stat.startTime !== startTime) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // no such group: everything already ended
  }
}
