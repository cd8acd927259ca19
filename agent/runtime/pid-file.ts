// The per-instance state file, dataDir/instances/<uid>/state.json: what a restarted agent needs to
// adopt a process it started before (pid + its /proc start time, against pid reuse) or to start it
// again (the whole DeploySpec). The spec holds resolved secrets in env, so the file is written with
// mode 0600 in a 0700 directory, and its content is never logged.
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploySpec, InstanceState } from './types.ts';

export interface InstanceRecord {
  version: 1;
  spec: DeploySpec;
  /** The running process; absent while none runs (backing off, exited, failed). */
  pid?: number;
  /** Field 22 of /proc/<pid>/stat at spawn. */
  processStartTime?: number;
  templateHash: string;
  /** Host ports of the current run (see host-ports.ts). */
  hostPorts?: Record<string, number>;
  restarts: number;
  startedAt?: string;
  state: InstanceState;
  health: 'Unknown' | 'Healthy' | 'Unhealthy';
  exitCode?: number;
  message?: string;
  /** True once the restart policy has decided not to run the process again. */
  finished: boolean;
}

export interface InstancePaths {
  dir: string;
  work: string;
  state: string;
  currentLog: string;
  previousLog: string;
}

const SAFE_UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function instancesDir(dataDir: string): string {
  return join(dataDir, 'instances');
}

export function instancePaths(dataDir: string, uid: string): InstancePaths {
  if (!SAFE_UID.test(uid)) throw new Error(`invalid instance uid ${JSON.stringify(uid)}: must be letters, digits, '.', '_' or '-'`);
  const dir = join(instancesDir(dataDir), uid);
  return {
    dir,
    work: join(dir, 'work'),
    state: join(dir, 'state.json'),
    currentLog: join(dir, 'current.log'),
    previousLog: join(dir, 'previous.log'),
  };
}

/** Creates the instance directory (0700) and its work directory. */
export function ensureInstanceDirs(paths: InstancePaths): void {
  mkdirSync(paths.work, { recursive: true, mode: 0o700 });
  chmodSync(paths.dir, 0o700);
}

/** Writes the record atomically (temp file + rename), mode 0600. */
export function writeInstanceRecord(paths: InstancePaths, record: InstanceRecord): void {
  const temp = `${paths.state}.tmp`;
  writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
  renameSync(temp, paths.state);
}

export function readInstanceRecord(path: string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<InstanceRecord>;
    if (record.version !== 1 || !record.spec || typeof record.spec.uid !== 'string' || typeof record.templateHash !== 'string') return undefined;
    return record as InstanceRecord;
  } catch {
    return undefined;
  }
}

/** The uids that have an instance directory under dataDir. */
export function listInstanceUids(dataDir: string): string[] {
  try {
    return readdirSync(instancesDir(dataDir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && SAFE_UID.test(entry.name))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
