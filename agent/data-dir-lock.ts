// One agent per data directory. Two agents on one directory (a second `lattice agent`, or
// `lattice up` where an agent already runs) would share its credential, each taking the other's
// connection, and adopt, restart or stop each other's processes. The first holds
// dataDir/agent.pid (its pid and start time, against pid reuse); another exits at once, naming it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processStartTime } from './runtime/proc-fs.ts';

interface Holder {
  pid: number;
  startTime?: number;
}

/** Takes the directory for this process until it exits (creating it, 0700), or throws naming its holder. */
export function lockDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'agent.pid');
  const startTime = processStartTime(process.pid);
  const me: Holder = { pid: process.pid, ...(startTime !== undefined ? { startTime } : {}) };
  for (;;) {
    try {
      writeFileSync(path, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    if (holder && holder.pid !== process.pid && isProcessAlive(holder.pid, holder.startTime)) {
      throw new Error(`${dataDir} is in use by another agent (pid ${holder.pid}: a \`lattice agent\` or \`lattice up\`); stop it first, or give this agent a --data-dir of its own`);
    }
    // Left by an agent that is gone (or by this process): take it over.
    rmSync(path, { force: true });
  }
  process.once('exit', () => {
    if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
  });
}

function readHolder(path: string): Holder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}
