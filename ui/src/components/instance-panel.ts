// One instance up close (Nomad's allocation view, Portainer's container view): its CPU and memory
// over the last ~15 minutes with the workload's limits drawn in, its exit code when it crashed,
// and its log, followed live, with a tail length, pause/resume and the run before the last
// restart. It renders what its parent and its LogController hold; it fetches nothing itself.
import { LitElement, css, html, svg } from 'lit';
import type { Instance, StatsSample, Workload, WorkloadStats } from '../../../schemas/types.gen.ts';
import { approximateCpu, approximateMemory } from '../../../schemas/quantity.ts';
import { memoryBytes, milliCpu } from '../format.ts';
import { LogController } from '../instance-controllers.ts';
import { chartOf } from '../instance-usage.ts';
import { session } from '../session.ts';
import { badge, sharedStyles } from './shared-styles.ts';

const CHART = { width: 320, height: 64 };
const TAILS = [100, 500, 2000];

type StatsItem = WorkloadStats['items'][number];

export class InstancePanel extends LitElement {
  static override properties = { workload: { attribute: false }, instance: { attribute: false }, stats: { attribute: false }, now: { attribute: false }, tail: { state: true }, previous: { state: true } };
  declare workload: Workload;
  declare instance: Instance;
  declare stats: StatsItem | undefined;
  declare now: number;
  declare tail: number;
  declare previous: boolean;

  static override styles = [
    sharedStyles,
    css`
      .charts {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
      }
      figure {
        margin: 0;
        flex: 1 1 280px;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 6px;
        padding: 0.5rem 0.75rem;
      }
      figcaption {
        display: flex;
        justify-content: space-between;
        font-size: 0.8rem;
        color: var(--muted);
      }
      svg {
        width: 100%;
        height: 64px;
        display: block;
      }
      polyline {
        fill: none;
        stroke: var(--link);
        stroke-width: 1.5;
      }
      line {
        stroke: var(--muted);
        stroke-dasharray: 4 3;
      }
      .controls {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.75rem;
        margin: 0.75rem 0 0.5rem;
        font-size: 0.85rem;
      }
      pre.logs {
        margin: 0;
        max-height: 24rem;
        overflow: auto;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 6px;
        padding: 0.5rem 0.75rem;
        font-size: 0.8rem;
        white-space: pre-wrap;
        overflow-wrap: anywhere;
      }
      .crash {
        margin: 0.5rem 0;
      }
      .unenforced {
        color: var(--warn);
        font-size: 0.85rem;
      }
    `,
  ];

  private readonly log = new LogController(this, session);
  private opened = '';

  constructor() {
    super();
    this.tail = TAILS[0]!;
    this.previous = false;
  }

  override updated(): void {
    // Nothing to read before an agent runs it (the API would answer 503).
    if (!this.instance.spec.agent || !this.instance.status?.startedAt) return;
    // A new instance, tail or run: follow that one.
    const key = `${this.instance.metadata.uid}/${this.tail}/${this.previous}`;
    if (key === this.opened) return;
    this.opened = key;
    this.log.open({ namespace: this.instance.metadata.namespace!, workload: this.workload.metadata.name, instance: this.instance.metadata.name, tail: this.tail, previous: this.previous });
  }

  override render() {
    const status = this.instance.status;
    const series = this.stats && 'series' in this.stats ? (this.stats.series ?? []) : [];
    const crashed = status && (status.exitCode !== undefined || (status.restarts ?? 0) > 0) && status.state !== 'Running';
    // The limit lines are what the spec asks; where the agent cannot hold the process to them, say so.
    const unenforced = status?.conditions?.find((c) => c.type === 'LimitsEnforced' && c.status === 'False');
    return html`
      ${crashed
        ? html`<div class="crash">${badge(status!.state ?? 'Failed')} exit code <strong class="exit-code">${status!.exitCode ?? '—'}</strong> · ${status!.restarts ?? 0} restarts${status!.message ? html` · ${status!.message}` : ''}</div>`
        : ''}
      <div class="charts">
        ${this.chart('cpu', 'CPU', series, (s) => s.cpuCores * 1000, milliCpu(this.workload.spec.resources?.cpu), (v) => approximateCpu(Math.round(v)))}
        ${this.chart('memory', 'Memory', series, (s) => s.memoryBytes, memoryBytes(this.workload.spec.resources?.memory), approximateMemory)}
      </div>
      ${unenforced ? html`<div class="unenforced">${unenforced.message}</div>` : ''}
      <div class="controls">
        ${this.log.state === 'paused'
          ? html`<button class="resume" @click=${() => this.log.resume()}>Resume</button>`
          : html`<button class="pause" @click=${() => this.log.pause()} ?disabled=${this.previous}>Pause</button>`}
        <label>Last <select class="tail" @change=${(e: Event) => (this.tail = Number((e.target as HTMLSelectElement).value))}>
          ${TAILS.map((n) => html`<option value=${n} ?selected=${n === this.tail}>${n}</option>`)}
        </select> lines</label>
        <label><input class="previous" type="checkbox" .checked=${this.previous} ?disabled=${!(status?.restarts ?? 0)} @change=${(e: Event) => (this.previous = (e.target as HTMLInputElement).checked)} /> previous run</label>
        <span class="quiet log-state">${this.log.state === 'failed' ? `log unavailable: ${this.log.error}` : this.log.state}</span>
      </div>
      <pre class="logs">${this.log.lines.join('\n')}</pre>
    `;
  }

  private chart(kind: string, title: string, series: readonly StatsSample[], measure: (s: StatsSample) => number, limit: number | undefined, format: (v: number) => string) {
    const chart = chartOf(series, measure, CHART, limit === undefined ? [] : [limit], this.now);
    const current = series.length ? format(measure(series[series.length - 1]!)) : '—';
    return html`<figure class=${kind}>
      <figcaption><span>${title}</span><span class="current">${current}${limit !== undefined ? ` of ${format(limit)}` : ''}</span></figcaption>
      <svg viewBox="0 0 ${CHART.width} ${CHART.height}" preserveAspectRatio="none" role="img" aria-label="${title} over the last 15 minutes">
        ${chart.lines.map((y) => svg`<line x1="0" x2=${CHART.width} y1=${y} y2=${y}></line>`)}
        <polyline points=${chart.points}></polyline>
      </svg>
    </figure>`;
  }
}

customElements.define('instance-panel', InstancePanel);
