// The CLI as a user runs it: `node bin/lattice.js …` in its own process, with its own config file
// (LATTICE_CONFIG), against a real server on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LatticeClient } from '../../client/api-client.ts';
import { assertStaysOnLoopback } from '../support/loopback-only.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'lattice.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of pattern in stdout (from `from` on), or fails after timeoutMs. */
  waitFor(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<RegExpMatchArray>;
  /** SIGTERM, then the exit. */
  stop(): Promise<CliResult>;
}

interface TestContext {
  after(fn: () => Promise<void> | void): void;
}

/** A scratch directory and a config file of its own, removed after the test. */
export class CliHome {
  readonly dir: string;
  readonly config: string;
  private readonly live = new Set<ChildProcess>();

  constructor(t: TestContext) {
    this.dir = mkdtempSync(join(tmpdir(), 'lattice-cli-'));
    this.config = join(this.dir, 'config', 'config.json');
    t.after(() => {
      for (const child of this.live) child.kill('SIGKILL');
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  private spawnCli(args: readonly string[], extraEnv: Record<string, string>): ChildProcess {
    const env = { ...process.env, LATTICE_CONFIG: this.config, ...extraEnv };
    assertStaysOnLoopback(args, env);
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    return child;
  }

  /** Runs `lattice args…` to completion; `input` goes to its stdin (closed either way). */
  run(args: readonly string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
    const child = this.spawnCli(args, options.env ?? {});
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin!.end(options.input ?? '');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`lattice ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, options.timeoutMs ?? 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs and expects exit status 0; returns stdout. */
  async ok(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) throw new Error(`lattice ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return result.stdout;
  }

  /** A long-running `lattice …` (get -w, gitops). */
  start(args: readonly string[], options: { env?: Record<string, string> } = {}): CliProcess {
    const child = this.spawnCli(args, options.env ?? {});
    child.stdin!.end();
    let stdout = '';
    let stderr = '';
    let wake: (() => void) | undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      wake?.();
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
        wake?.();
      }),
    );
    let done = false;
    void exited.then(() => (done = true));
    return {
      child,
      stdout: () => stdout,
      stderr: () => stderr,
      async waitFor(pattern, { from = 0, timeoutMs = 20_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const match = stdout.slice(from).match(pattern);
          if (match) return match;
          if (done) throw new Error(`lattice ${args.join(' ')} exited before printing ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`);
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`lattice ${args.join(' ')} did not print ${pattern} in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(left, 500));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      },
      async stop() {
        if (!done) child.kill('SIGTERM');
        const code = await exited;
        return { code, stdout, stderr };
      },
    };
  }

  /** Writes a file under the scratch directory; returns its path. */
  write(relative: string, text: string): string {
    const path = join(this.dir, relative);
    writeFileSync(path, text);
    return path;
  }

  readConfig(): { currentContext?: string; contexts: Record<string, { server: string; token: string; refreshToken?: string; expiresAt?: string; username?: string; namespace?: string }> } {
    return JSON.parse(readFileSync(this.config, 'utf8'));
  }

  /** A context holding a long-lived API token of the client's user, made current. */
  async useClient(client: LatticeClient, server: string, name = 'test'): Promise<void> {
    const { token } = await client.request<{ token: string }>('POST', '/auth/tokens', { body: { name: `cli test ${name}` } });
    await this.ok(['login', '--server', server, '--token', token, '--name', name]);
  }
}
