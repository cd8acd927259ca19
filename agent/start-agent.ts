// Everything `lattice agent` (and `lattice up`'s local agent) does to start: credential,
// runtime (adopting what an earlier run left running), connection.
import { join } from 'node:path';
import { AgentDaemon } from './agent-daemon.ts';
import { loadCredential, register } from './join.ts';
import { ProcessRuntime } from './runtime/process-runtime.ts';

export interface StartAgentOptions {
  server: string;
  name: string;
  dataDir: string;
  /** Needed the first time; afterwards the stored credential is used. */
  joinToken?: string;
  labels?: Record<string, string>;
  advertiseAddress?: string;
  version: string;
  heartbeatMs?: number;
  log?: (message: string) => void;
}

export async function startAgent(options: StartAgentOptions): Promise<AgentDaemon> {
  const server = options.server.replace(/\/+$/, '');
  let credential = loadCredential(options.dataDir, server, options.name);
  if (!credential) {
    if (!options.joinToken) throw new Error(`agent ${options.name} has no credential in ${options.dataDir}: pass --join-token (create one with \`lattice agent token create\`)`);
    credential = await register(server, options.joinToken, options.name, options.labels ?? {}, options.dataDir);
  }
  const advertiseAddress = options.advertiseAddress ?? '127.0.0.1';
  const runtime = await ProcessRuntime.open({ dataDir: join(options.dataDir, 'process'), advertiseAddress });
  const daemon = new AgentDaemon({
    server,
    name: options.name,
    credential: credential.token,
    runtime,
    advertiseAddress,
    version: options.version,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  daemon.start();
  return daemon;
}
