// What Linux's /proc says about a process: whether it still lives (and is still the same process,
// not a reused pid), its CPU time and its resident memory.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime: USER_HZ, 100 on every Linux ABI Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  /** R, S, D, Z (zombie), T, X (dead), … */
  state: string;
  /** Process group id. */
  pgrp: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Field 22: start time since boot, in clock ticks. Together with the pid, identifies a process. */
  startTime: number;
}

/** Parses /proc/<pid>/stat, or returns undefined when there is no such process. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may itself hold spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const rest = text.slice(close + 2).trim().split(' ');
  const field = (n: number): number => Number(rest[n - 3]);
  const state = rest[0];
  if (state === undefined) return undefined;
  return { state, pgrp: field(5), cpuTicks: field(14) + field(15), startTime: field(22) };
}

/** The process's start time (field 22), or undefined if it does not exist. */
export function processStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/**
 * Whether pid is a live process (not a zombie) and, when startTime is given, the same process that
 * started at that time rather than a later one that reused the pid.
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = readProcStat(pid);
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** VmRSS of a process in bytes; 0 when unknown (e.g. a kernel thread or a process that just ended). */
export function residentBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The pids of every live process in process group pgid (the leader included if it lives). */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readProcStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(pid);
  }
  return members;
}

/** CPU ticks and resident memory summed over a process group. */
export function sampleProcessGroup(pgid: number): { cpuTicks: number; memoryBytes: number } {
  let cpuTicks = 0;
  let memoryBytes = 0;
  for (const pid of processGroupMembers(pgid)) {
    cpuTicks += readProcStat(pid)?.cpuTicks ?? 0;
    memoryBytes += residentBytes(pid);
  }
  return { cpuTicks, memoryBytes };
}

/** Sends signal to every process of group pgid; false when there is none left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
