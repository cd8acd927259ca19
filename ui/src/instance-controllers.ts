// The workload detail's live parts that are not watches: CPU/memory readings polled from
// …/stats, and one instance's log followed through …/logs. Like WatchController, each connects
// and disconnects with its element; the element only renders what they hold.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { WorkloadStats } from '../../schemas/types.gen.ts';
import type { LatticeClient } from '../../client/api-client.ts';
import { appendLogText } from './instance-usage.ts';

export interface ClientSource {
  client(): LatticeClient;
}

export const STATS_POLL_MS = 5_000;
/** Lines the log view keeps; older ones scroll away. */
export const LOG_LINES = 2_000;

/** The workload's per-instance readings (with their ~15-minute series), polled while connected. */
export class StatsController implements ReactiveController {
  items: WorkloadStats['items'] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: ClientSource,
    /** undefined: nothing to ask about (yet). */
    private readonly target: () => { namespace: string; name: string } | undefined,
    private readonly pollMs = STATS_POLL_MS,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.connected = true;
    void this.poll();
  }

  hostDisconnected(): void {
    this.connected = false;
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const target = this.target();
    try {
      if (target) this.items = (await this.source.client().stats(target.namespace, target.name)).items;
    } catch {
      // Not there yet, or the agent is away: the charts keep what they had.
    }
    this.host.requestUpdate();
    // Until there is something to ask about (the page's caches still listing), look again soon.
    if (this.connected) this.timer = setTimeout(() => void this.poll(), target ? this.pollMs : 500);
  }
}

export interface LogTarget {
  namespace: string;
  workload: string;
  instance: string;
  /** The run before the last restart (the one that crashed). */
  previous: boolean;
  tail: number;
}

export type LogState = 'idle' | 'following' | 'paused' | 'ended' | 'failed';

/** One instance's log: the last `tail` lines, then new ones as they come (unless previous). */
export class LogController implements ReactiveController {
  lines: string[] = [];
  state: LogState = 'idle';
  error: string | undefined;
  private target: LogTarget | undefined;
  private abort: AbortController | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: ClientSource,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    if (this.target && this.state !== 'paused') this.open(this.target);
  }

  hostDisconnected(): void {
    this.abort?.abort();
  }

  /** Follows this target from now on (a new one replaces the lines). */
  open(target: LogTarget): void {
    this.abort?.abort();
    this.target = target;
    this.lines = [];
    this.error = undefined;
    void this.read(target);
  }

  pause(): void {
    this.abort?.abort();
    this.state = 'paused';
    this.host.requestUpdate();
  }

  resume(): void {
    if (this.target) this.open(this.target);
  }

  private async read(target: LogTarget): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    this.state = 'following';
    this.host.requestUpdate();
    let pending = '';
    try {
      const stream = this.source.client().logs(target.namespace, target.workload, { instance: target.instance, tail: target.tail, previous: target.previous, follow: !target.previous }, abort.signal);
      for await (const text of stream) {
        pending = appendLogText(this.lines, pending, text, LOG_LINES);
        this.host.requestUpdate();
      }
      if (pending) appendLogText(this.lines, pending, '\n', LOG_LINES);
      if (!abort.signal.aborted) this.state = 'ended';
    } catch (error) {
      if (abort.signal.aborted) return;
      this.state = 'failed';
      this.error = (error as Error).message;
    }
    this.host.requestUpdate();
  }
}
