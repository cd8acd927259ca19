// A minimal Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format.
import type { Leadership } from './leader-lease.ts';

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
};

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...[...this.values].map(([l, v]) => `${this.name}${l} ${v}`)].join('\n');
  }
}

export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number | Promise<number>) {}
  async render(): Promise<string> {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${await this.read()}`].join('\n');
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {}
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((bound, i) => {
      if (value <= bound) s.counts[i]! += 1;
    });
    s.sum += value;
    s.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(bound) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`, `${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class ServerMetrics {
  watchers = 0;
  readonly requests = new Counter('lattice_http_requests_total', 'HTTP requests by method, route and status code.');
  readonly latency = new Histogram('lattice_http_request_duration_seconds', 'HTTP request latency by method and route.', [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  ]);
  readonly watchEvents = new Counter('lattice_watch_events_sent_total', 'Watch events sent to WebSocket watchers.');
  readonly slowWatchers = new Counter('lattice_watch_slow_consumers_total', 'Watchers cut off for not reading fast enough.');
  private readonly gauges: Gauge[];

  constructor(currentRevision: () => Promise<number>, leadership: Leadership) {
    this.gauges = [
      new Gauge('lattice_watchers', 'Open watch WebSockets.', () => this.watchers),
      new Gauge('lattice_store_revision', 'Newest committed store revision.', currentRevision),
      new Gauge('lattice_leader', '1 while this replica holds the leader lease, else 0.', () => (leadership.leading ? 1 : 0)),
      new Gauge('lattice_leader_epoch', "This replica's current or last leader epoch (0: never led).", () => leadership.epoch),
    ];
  }

  async render(): Promise<string> {
    const gauges = await Promise.all(this.gauges.map((g) => g.render()));
    return [this.requests.render(), this.latency.render(), this.watchEvents.render(), this.slowWatchers.render(), ...gauges].join('\n') + '\n';
  }
}
