// CPU and memory limits for process workloads, set through the kernel's control groups the way a
// container runtime sets them: cgroup v2 (cpu.max, memory.max) where the unified hierarchy offers
// the cpu and memory controllers, else cgroup v1's cpu and memory hierarchies (cfs quota,
// memory.limit_in_bytes) — older distributions and hybrid hosts still mount those. Each instance
// gets a group of its own, <hierarchy>/lattice/<uid>, kept across its restarts. Its process joins
// the group before its command runs (a shell writes its own pid into cgroup.procs, then execs the
// command), so everything it forks is inside too. Creating groups needs root; where the agent
// cannot, limits are not enforced and the Instance says why.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConditionFacts } from '../../schemas/conditions.ts';
import type { ResourceList } from '../../schemas/types.gen.ts';
import { parseCpu, parseMemory } from '../../schemas/quantity.ts';
import { resolveExecutable } from './tracked-process.ts';

interface ResourceLimits {
  cpuMillis?: number;
  memoryBytes?: number;
}

interface CgroupDriver {
  /** "cgroup v2" or "cgroup v1", for messages. */
  readonly name: string;
  /** Creates (or reuses) the instance's group with these limits; returns the cgroup.procs files a process joins. */
  create(uid: string, limits: ResourceLimits): string[];
  /** How many times the kernel killed a process of the group for exceeding its memory. */
  oomKills(uid: string): number;
  /** Kills what is left in the group and removes it. Best effort. */
  remove(uid: string): Promise<void>;
}

export type CgroupSupport = { driver: CgroupDriver } | { unavailable: string };

const GROUP = 'lattice';
const CFS_PERIOD_US = 100_000;
/** The kernel refuses a quota under 1 ms a period. */
const MIN_QUOTA_US = 1_000;

function limitsOf(resources: ResourceList | undefined): ResourceLimits {
  return {
    ...(resources?.cpu !== undefined ? { cpuMillis: parseCpu(resources.cpu) } : {}),
    ...(resources?.memory !== undefined ? { memoryBytes: parseMemory(resources.memory) } : {}),
  };
}

function quotaUs(cpuMillis: number): number {
  return Math.max(MIN_QUOTA_US, Math.round((cpuMillis * CFS_PERIOD_US) / 1000));
}

function counter(file: string, name: string): number {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  } catch {
    return 0;
  }
}

/** SIGKILL to every process still listed in a group's cgroup.procs (v1 has no cgroup.kill). */
function killMembers(procsFile: string): void {
  let pids: number[];
  try {
    pids = readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The kernel refuses (EBUSY) to remove a group until its killed members are gone: a few tries. */
async function removeGroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

class CgroupV2 implements CgroupDriver {
  readonly name = 'cgroup v2';
  constructor(private readonly parent: string) {}

  create(uid: string, limits: ResourceLimits): string[] {
    const dir = join(this.parent, uid);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cpu.max'), limits.cpuMillis !== undefined ? `${quotaUs(limits.cpuMillis)} ${CFS_PERIOD_US}` : `max ${CFS_PERIOD_US}`);
    writeFileSync(join(dir, 'memory.max'), limits.memoryBytes !== undefined ? String(limits.memoryBytes) : 'max');
    // Swap would let a process outgrow memory.max unseen.
    if (limits.memoryBytes !== undefined && existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
    return [join(dir, 'cgroup.procs')];
  }

  oomKills(uid: string): number {
    return counter(join(this.parent, uid, 'memory.events'), 'oom_kill');
  }

  async remove(uid: string): Promise<void> {
    const dir = join(this.parent, uid);
    if (!existsSync(dir)) return;
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
    } catch {
      killMembers(join(dir, 'cgroup.procs'));
    }
    await removeGroup(dir);
  }
}

class CgroupV1 implements CgroupDriver {
  readonly name = 'cgroup v1';
  constructor(
    private readonly cpuParent: string,
    private readonly memoryParent: string,
  ) {}

  create(uid: string, limits: ResourceLimits): string[] {
    const cpu = join(this.cpuParent, uid);
    const memory = join(this.memoryParent, uid);
    mkdirSync(cpu, { recursive: true });
    mkdirSync(memory, { recursive: true });
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), limits.cpuMillis !== undefined ? String(quotaUs(limits.cpuMillis)) : '-1');
    writeFileSync(join(memory, 'memory.limit_in_bytes'), limits.memoryBytes !== undefined ? String(limits.memoryBytes) : '-1');
    return [join(cpu, 'cgroup.procs'), join(memory, 'cgroup.procs')];
  }

  oomKills(uid: string): number {
    return counter(join(this.memoryParent, uid, 'memory.oom_control'), 'oom_kill');
  }

  async remove(uid: string): Promise<void> {
    for (const dir of [join(this.cpuParent, uid), join(this.memoryParent, uid)]) {
      if (!existsSync(dir)) continue;
      killMembers(join(dir, 'cgroup.procs'));
      await removeGroup(dir);
    }
  }
}

function reasonOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') return `${e.message} (the agent needs root and a writable cgroup hierarchy)`;
  return e.message;
}

/**
 * Which cgroup hierarchy this agent can set limits with, under root (normally /sys/fs/cgroup).
 * Makes the lattice group (and, on v2, enables the cpu and memory controllers for its children).
 */
export function detectCgroups(root = '/sys/fs/cgroup'): CgroupSupport {
  try {
    const controllersFile = join(root, 'cgroup.controllers');
    if (existsSync(controllersFile)) {
      const controllers = readFileSync(controllersFile, 'utf8').trim().split(/\s+/);
      const missing = ['cpu', 'memory'].filter((c) => !controllers.includes(c));
      if (missing.length > 0) return { unavailable: `cgroup v2 at ${root} does not offer the ${missing.join(' and ')} controller${missing.length > 1 ? 's' : ''}` };
      const parent = join(root, GROUP);
      writeFileSync(join(root, 'cgroup.subtree_control'), '+cpu +memory');
      mkdirSync(parent, { recursive: true });
      writeFileSync(join(parent, 'cgroup.subtree_control'), '+cpu +memory');
      return { driver: new CgroupV2(parent) };
    }
    if (existsSync(join(root, 'cpu', 'cpu.cfs_quota_us')) && existsSync(join(root, 'memory', 'memory.limit_in_bytes'))) {
      const cpuParent = join(root, 'cpu', GROUP);
      const memoryParent = join(root, 'memory', GROUP);
      mkdirSync(cpuParent, { recursive: true });
      mkdirSync(memoryParent, { recursive: true });
      return { driver: new CgroupV1(cpuParent, memoryParent) };
    }
    return { unavailable: `no cgroup hierarchy with the cpu and memory controllers is mounted at ${root}` };
  } catch (error) {
    return { unavailable: `cannot create control groups under ${root}: ${reasonOf(error)}` };
  }
}

interface InstanceLimits {
  /** The cgroup.procs files the instance's process joins; empty when nothing is enforced. */
  procs: string[];
  /** LimitsEnforced, when the spec sets a limit. */
  condition?: ConditionFacts;
}

function describeLimits(resources: ResourceList): string {
  return [resources.cpu !== undefined && `cpu ${resources.cpu}`, resources.memory !== undefined && `memory ${resources.memory}`].filter(Boolean).join(' and ');
}

/** Sets up the instance's group with its spec's limits where the agent can, and says which. */
export function applyLimits(support: CgroupSupport, uid: string, resources: ResourceList | undefined): InstanceLimits {
  const limits = limitsOf(resources);
  if (resources === undefined || (limits.cpuMillis === undefined && limits.memoryBytes === undefined)) return { procs: [] };
  const what = describeLimits(resources);
  const notEnforced = (why: string): InstanceLimits => ({
    procs: [],
    condition: { type: 'LimitsEnforced', status: 'False', reason: 'LimitsNotEnforced', message: `limits not enforced (${what}): ${why}` },
  });
  if ('unavailable' in support) return notEnforced(support.unavailable);
  try {
    return {
      procs: support.driver.create(uid, limits),
      condition: { type: 'LimitsEnforced', status: 'True', reason: 'ControlGroup', message: `${what} enforced with ${support.driver.name}` },
    };
  } catch (error) {
    return notEnforced(`cannot set up the instance's control group: ${(error as Error).message}`);
  }
}

/**
 * The command line that runs a command inside the groups whose cgroup.procs files are given: a
 * shell joins each (its own pid, which exec keeps) and then becomes the command. The command is
 * looked up first (throwing ENOENT/EACCES), as the shell would only exit 127.
 */
export function withinGroups(procs: string[], command: { file: string; args: string[]; path: string; cwd: string }): { file: string; args: string[] } {
  if (procs.length === 0) return { file: command.file, args: command.args };
  const executable = resolveExecutable(command.file, command.path, command.cwd);
  const joins = procs.map((_, i) => `echo $$ > "$${i + 1}"`).join(' && ');
  const script = `${joins} || { echo "lattice: cannot join the instance's control group" >&2; exit 125; }; shift ${procs.length}; exec "$@"`;
  return { file: '/bin/sh', args: ['-c', script, 'lattice-limits', ...procs, executable, ...command.args] };
}
