// Registration with a join token, and the credential kept in the agent's data dir so a
// restarted agent reconnects as itself.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentCredential {
  server: string;
  name: string;
  token: string;
}

const FILE = 'credential.json';

export function loadCredential(dataDir: string, server: string, name: string): AgentCredential | undefined {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return undefined;
  const credential = JSON.parse(readFileSync(file, 'utf8')) as AgentCredential;
  return credential.server === server && credential.name === name ? credential : undefined;
}

export async function register(server: string, joinToken: string, name: string, labels: Record<string, string>, dataDir: string): Promise<AgentCredential> {
  const response = await fetch(`${server}/api/v1/agents/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken, name, labels }),
  });
  const body = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !body.token) throw new Error(`registration refused (${response.status}): ${body.message ?? 'no reason given'}`);
  return saveCredential(dataDir, { server, name, token: body.token });
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
