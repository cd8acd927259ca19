// Registration with a join token, and the credential kept in the agent's data dir so a
// restarted agent reconnects as itself. An agent may be given several control-plane URLs (the
// replicas of one cluster); the first one names the cluster, and the credential is kept under it.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentCredential {
  /** The first of the agent's server URLs when it registered: the cluster's name. */
  server: string;
  name: string;
  token: string;
}

const FILE = 'credential.json';

/**
 * `--server`'s value: one URL (a single server or a load balancer), or the replicas of one cluster
 * separated by commas. Trailing slashes go, so `http://a:8080/` and `http://a:8080` are one key.
 */
export function parseServerUrls(value: string): string[] {
  const urls: string[] = [];
  for (const part of value.split(',')) {
    const trimmed = part.trim().replace(/\/+$/, '');
    if (!trimmed) continue;
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new Error(`--server (or LATTICE_SERVER) takes http(s) URLs separated by commas, got ${JSON.stringify(part.trim())}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--server (or LATTICE_SERVER) takes http(s) URLs, got ${JSON.stringify(trimmed)}`);
    if (!urls.includes(trimmed)) urls.push(trimmed);
  }
  if (urls.length === 0) throw new Error('--server (or LATTICE_SERVER) needs at least one URL');
  return urls;
}

/**
 * The stored credential when it is this agent's for this cluster. It was stored under the first URL;
 * one stored under another of the listed URLs is accepted too, so a data dir from before a URL was
 * added in front (or the list reordered) keeps working: every URL of the list is the same cluster.
 */
export function loadCredential(dataDir: string, servers: readonly string[], name: string): AgentCredential | undefined {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return undefined;
  const credential = JSON.parse(readFileSync(file, 'utf8')) as AgentCredential;
  return servers.includes(credential.server) && credential.name === name ? credential : undefined;
}

/** Long enough for a loaded server; short enough that a black-holed replica does not stall the next. */
const REGISTER_TIMEOUT_MS = 15_000;

/**
 * Registers with the first server that answers. A server that cannot be reached, or answers 5xx
 * (a replica going down, a balancer with no backend), is skipped for the next; a refusal (4xx: a
 * bad token, a name taken) is the cluster's answer and ends it, since every replica shares one store.
 */
export async function register(servers: readonly string[], joinToken: string, name: string, labels: Record<string, string>, dataDir: string, log?: (message: string) => void): Promise<AgentCredential> {
  const failures: string[] = [];
  for (const server of servers) {
    let response: Response;
    try {
      response = await fetch(`${server}/api/v1/agents/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ joinToken, name, labels }),
        signal: AbortSignal.timeout(REGISTER_TIMEOUT_MS),
      });
    } catch (error) {
      failures.push(`${server}: ${describeFetchError(error)}`);
      log?.(`agent ${name}: registration at ${server} failed (${describeFetchError(error)}); trying the next server`);
      continue;
    }
    const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string };
    if (response.status >= 500) {
      failures.push(`${server}: HTTP ${response.status}`);
      log?.(`agent ${name}: registration at ${server} failed (HTTP ${response.status}); trying the next server`);
      continue;
    }
    if (!response.ok || !body.token) throw new Error(`registration refused by ${server} (${response.status}): ${body.message ?? 'no reason given'}`);
    log?.(`agent ${name}: registered at ${server}`);
    return saveCredential(dataDir, { server: servers[0]!, name, token: body.token });
  }
  throw new Error(`registration failed: no server answered (${failures.join('; ')})`);
}

function describeFetchError(error: unknown): string {
  // fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND) is its cause.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/**
 * Trades the stored credential for a new one (`lattice agent rotate`): the control plane revokes
 * the old one at once, and a running agent reconnects with the new one from the file.
 */
export async function rotateCredential(dataDir: string): Promise<AgentCredential> {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) throw new Error(`no agent credential in ${dataDir}: pass the agent's --data-dir`);
  const current = JSON.parse(readFileSync(file, 'utf8')) as AgentCredential;
  const response = await fetch(`${current.server}/api/v1/agents/rotate`, { method: 'POST', headers: { authorization: `Bearer ${current.token}` } });
  const body = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !body.token) throw new Error(`rotation refused (${response.status}): ${body.message ?? 'no reason given'}`);
  return saveCredential(dataDir, { ...current, token: body.token });
}

function saveCredential(dataDir: string, credential: AgentCredential): AgentCredential {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, FILE);
  // Written beside and renamed: a running agent reading it never sees half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(credential), { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
  return credential;
}
