// What the agent's instances used lately, for the dashboard's charts: a reading of each instance
// every intervalMs, the last `keep` of them (15 minutes at the defaults), dropped with the
// instance. Bounded by keep × instances; sampled by the agent, so a chart has its history the
// moment someone opens it.
import type { InstanceStats, StatsSample } from '../schemas/types.gen.ts';
import type { InstanceRuntime } from './runtime/types.ts';

export interface StatsHistoryOptions {
  intervalMs: number;
  keep: number;
  now: () => Date;
}

/** A reading as the agent reports it: millicore precision, whole bytes, never negative. */
export function reported(stats: InstanceStats): InstanceStats {
  return { cpuCores: Math.max(0, Math.round(stats.cpuCores * 1000) / 1000), memoryBytes: Math.max(0, Math.round(stats.memoryBytes)) };
}

export const DEFAULT_STATS_HISTORY: StatsHistoryOptions = { intervalMs: 5_000, keep: 180, now: () => new Date() };
const KEEP_MS = DEFAULT_STATS_HISTORY.intervalMs * DEFAULT_STATS_HISTORY.keep;

/** Sampling every intervalMs, keeping the same 15 minutes (at most 720 readings). */
export function statsHistoryEvery(intervalMs: number): StatsHistoryOptions {
  return { ...DEFAULT_STATS_HISTORY, intervalMs, keep: Math.min(720, Math.ceil(KEEP_MS / intervalMs)) };
}

export class StatsHistory {
  private readonly series = new Map<string, StatsSample[]>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly runtime: Pick<InstanceRuntime, 'list' | 'stats'>,
    private readonly options: StatsHistoryOptions = DEFAULT_STATS_HISTORY,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
    this.timer.unref();
    void this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The readings of an instance, oldest first. */
  of(uid: string): StatsSample[] {
    return this.series.get(uid) ?? [];
  }

  private async sample(): Promise<void> {
    if (this.sampling) return; // a slow reading never piles up behind itself
    this.sampling = true;
    try {
      const live = this.runtime.list().filter((i) => i.state === 'Running' || i.state === 'Starting');
      const uids = new Set(live.map((i) => i.uid));
      for (const uid of this.series.keys()) if (!uids.has(uid)) this.series.delete(uid);
      await Promise.all(
        live.map(async ({ uid }) => {
          const stats = await this.runtime.stats(uid).catch(() => undefined);
          if (!stats) return;
          const series = this.series.get(uid) ?? [];
          series.push({ at: this.options.now().toISOString(), ...reported(stats) });
          if (series.length > this.options.keep) series.splice(0, series.length - this.options.keep);
          this.series.set(uid, series);
        }),
      );
    } finally {
      this.sampling = false;
    }
  }
}
