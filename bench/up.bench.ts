// `npm run bench -- up`: how long `lattice up` (bin/lattice.js, from the production bundle, as
// `npm start` runs it) takes from the process starting to the API answering, and to printing
// "Lattice is up" (the local agent connected, the CLI context written). A first start on an empty
// data dir (migrations, the admin's password hashed) and restarts on the same one.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../agent/runtime/host-ports.ts';
import { buildBundle, bundleIsFresh } from '../bin/bundle.js';
import { ensureUiBuilt } from '../ui/build.ts';
import { fmt, percentile, printTable } from './report.ts';

const RESTARTS = 5;
const START_TIMEOUT_MS = 30_000;
const LATTICE = join(import.meta.dirname, '..', 'bin', 'lattice.js');

interface StartTimes {
  /** Process spawned → GET /healthz answers. */
  servingMs: number;
  /** Process spawned → "Lattice is up" printed. */
  upMs: number;
  /** What `lattice up` says it took (from after its UI check to the context written). */
  reportedMs: number;
}

async function startOnce(dir: string): Promise<StartTimes> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [LATTICE, 'up', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--docker', 'off'], {
    env: { ...process.env, LATTICE_CONFIG: join(dir, 'config.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const printed = new Promise<{ upMs: number; reportedMs: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /Lattice is up in (\d+) ms/.exec(out);
        if (match) resolve({ upMs: performance.now() - started, reportedMs: Number(match[1]) });
      });
      child.once('exit', (code, signal) => reject(new Error(`lattice up exited before it was up (${code ?? signal}): ${out.slice(-500)}`)));
    });
    let servingMs = NaN;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Number.isNaN(servingMs)) {
      if (Date.now() > deadline) throw new Error(`lattice up did not answer on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (ok) servingMs = performance.now() - started;
      else await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return { servingMs, ...(await printed) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

export async function upBench(): Promise<void> {
  if (!bundleIsFresh()) await buildBundle();
  await ensureUiBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'lattice-up-bench-'));
  try {
    const first = await startOnce(dir);
    const restarts: StartTimes[] = [];
    for (let i = 0; i < RESTARTS; i++) restarts.push(await startOnce(dir));
    const row = (label: string, runs: StartTimes[]) => {
      const p50 = (pick: (t: StartTimes) => number) => fmt.ms(percentile(runs.map(pick).sort((a, b) => a - b), 50));
      const max = (pick: (t: StartTimes) => number) => fmt.ms(Math.max(...runs.map(pick)));
      return [label, String(runs.length), p50((t) => t.servingMs), max((t) => t.servingMs), p50((t) => t.upMs), max((t) => t.upMs), p50((t) => t.reportedMs)];
    };
    printTable(
      'up: `lattice up --docker off` from the bundle (bin/lattice.js), process spawned -> API answering (GET /healthz) and -> "Lattice is up" printed (local agent connected, context written)',
      ['start', 'runs', 'serving p50 ms', 'max ms', 'up p50 ms', 'max ms', '"up in" printed p50 ms'],
      [row('first (empty data dir)', [first]), row('restart (same data dir)', restarts)],
    );
    console.log('target (DESIGN.md §9): `lattice up` serving in <= 1 s');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
