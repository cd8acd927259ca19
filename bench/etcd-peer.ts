// The benchmark peer of DESIGN.md §9: a throwaway single-member etcd (Debian's etcd-server, 3.4)
// on loopback ports in a temp data dir, spoken to through its JSON gateway (/v3/kv/put).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../agent/runtime/host-ports.ts';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export interface EtcdPeer {
  /** http://127.0.0.1:PORT, the client URL. */
  url: string;
  version: string;
  stop(): Promise<void>;
}

/** The etcd binary on PATH, or undefined. */
export function findEtcd(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}


function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startEtcd(binary: string): Promise<EtcdPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-etcd-'));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name', 'default',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  child.on('error', (error) => {
    log += `\nspawn failed: ${error.message}`;
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await exited(child, STOP_TIMEOUT_MS))) {
        child.kill('SIGKILL');
        await exited(child, STOP_TIMEOUT_MS);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd exited during startup (${child.exitCode ?? child.signalCode}): ${log.trim()}`);
      try {
        const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await health.json()) as { health?: string };
        if (health.ok && body.health === 'true') break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy within ${START_TIMEOUT_MS} ms: ${log.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const versionResponse = await fetch(`${url}/version`, { signal: AbortSignal.timeout(2000) });
    const { etcdserver } = (await versionResponse.json()) as { etcdserver?: string };
    return { url, version: etcdserver ?? 'unknown', stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One put through the JSON gateway; throws unless etcd answered 200 with a header. */
export async function etcdPut(url: string, key: string, value: string, timeoutMs: number): Promise<void> {
  const response = await fetch(`${url}/v3/kv/put`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok || !text.includes('"header"')) throw new Error(`etcd put ${key}: ${response.status} ${text.slice(0, 200)}`);
}
