// One workload: spec summary, conditions, instances, endpoints and events, all live, and one
// instance up close (charts and log, instance-panel.ts). Secret values never reach this page
// from Lattice (the UI watches no Secrets; env shows names and sources only); a log shows only
// what the process itself printed.
import { LitElement, css, html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Instance, ServedEvent, ServedWorkload } from '../../../schemas/types.gen.ts';
import { age } from '../format.ts';
import { session } from '../session.ts';
import { StatsController } from '../instance-controllers.ts';
import { conditionMeaning, eventsForWorkload, instancesOf, specSummary } from '../view-models.ts';
import './instance-panel.ts';
import { ClockController, WatchController } from '../watch-controller.ts';
import { eventRows } from './events-view.ts';
import { badge, meaningBadge, sharedStyles } from './shared-styles.ts';
import { endpointLinks } from './workloads-view.ts';

export class WorkloadDetail extends LitElement {
  static override properties = { namespace: {}, name: {}, selected: { state: true } };
  declare namespace: string;
  declare name: string;
  /** The instance shown up close (chosen in the table; else a failing one, else the first). */
  declare selected: string | undefined;

  static override styles = [
    sharedStyles,
    css`
      .title {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        margin-bottom: 1rem;
      }
      .title h2 {
        margin: 0;
      }
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.35rem 1.25rem;
        margin: 0;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 6px;
        padding: 0.75rem 1rem;
        font-size: 0.875rem;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        word-break: break-word;
      }
      .back {
        font-size: 0.85rem;
      }
      table.instances tbody tr {
        cursor: pointer;
      }
      table.instances tbody tr.selected {
        background: var(--border-soft);
      }
      dd.command {
        white-space: pre-wrap;
      }
      @media (max-width: 600px) {
        dl {
          grid-template-columns: 1fr;
        }
        table.instances th:nth-child(n + 5),
        table.instances td:nth-child(n + 5),
        table.conditions th:nth-child(5),
        table.conditions td:nth-child(5) {
          display: none;
        }
      }
    `,
  ];

  private readonly workloads = new WatchController<ServedWorkload>(this, session, 'Workload');
  private readonly instances = new WatchController<Instance>(this, session, 'Instance');
  private readonly events = new WatchController<ServedEvent>(this, session, 'Event');
  private readonly clock = new ClockController(this);
  // Only for a workload that exists: asking the API about one that does not is a 404 for nothing.
  private readonly stats = new StatsController(this, session, () => (this.workloads.get(this.namespace, this.name) ? { namespace: this.namespace, name: this.name } : undefined));

  constructor() {
    super();
    this.namespace = '';
    this.name = '';
  }

  override render() {
    const back = html`<a class="back" href="/workloads">← Workloads</a>`;
    const workload = this.workloads.get(this.namespace, this.name);
    if (!workload) {
      return html`${back}
        <div class="empty">${this.workloads.synced ? `Workload ${this.namespace}/${this.name} not found (deleted, or not yours to see).` : 'Loading…'}</div>`;
    }
    const now = this.clock.now;
    const instances = instancesOf(this.instances.items, this.namespace, this.name);
    const events = eventsForWorkload(this.events.items, this.namespace, this.name, new Set(instances.map((i) => i.metadata.name)), workload.metadata.uid);
    const shown =
      instances.find((i) => i.metadata.name === this.selected) ??
      instances.find((i) => i.status?.state === 'Failed' || i.status?.state === 'Exited' || (i.status?.restarts ?? 0) > 0) ??
      instances[0];
    const status = workload.status;
    const phase = workload.metadata.deletionTimestamp ? 'Terminating' : (status?.phase ?? 'Pending');
    return html`${back}
      <div class="title">
        <h2>${workload.metadata.name}</h2>
        ${badge(phase)}
        <span class="quiet">${workload.metadata.namespace} · ${status?.readyReplicas ?? 0}/${workload.spec.replicas} ready · generation ${workload.metadata.generation ?? 1} · ${age(workload.metadata.creationTimestamp, now)} old</span>
      </div>

      <h3>Spec</h3>
      <dl class="spec">
        ${specSummary(workload.spec).map((line) => html`<dt>${line.label}</dt><dd class=${line.label === 'Command' ? 'mono command' : line.label === 'Image' ? 'mono' : ''}>${line.value}</dd>`)}
        ${Object.keys(workload.metadata.labels ?? {}).length
          ? html`<dt>Labels</dt><dd>${Object.entries(workload.metadata.labels ?? {}).map(([k, v]) => html`<span class="chip">${k}=${v}</span>`)}</dd>`
          : ''}
      </dl>

      <h3>Endpoints</h3>
      <div class="endpoints">${endpointLinks(status?.endpoints ?? [])}</div>

      <h3>Conditions</h3>
      <table class="conditions">
        <thead>
          <tr><th>TYPE</th><th>STATUS</th><th>REASON</th><th>MESSAGE</th><th>LAST TRANSITION</th></tr>
        </thead>
        <tbody>
          ${repeat(
            status?.conditions ?? [],
            (c) => c.type,
            (c) => html`<tr>
              <td>${c.type}</td>
              <td>${meaningBadge(c.status, conditionMeaning(c))}</td>
              <td>${c.reason ?? ''}</td>
              <td>${c.message ?? ''}</td>
              <td class="num">${age(c.lastTransitionTime, now)} ago</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${status?.conditions?.length ? '' : html`<div class="empty">No conditions reported yet.</div>`}

      <h3>Instances</h3>
      <table class="instances">
        <thead>
          <tr><th>NAME</th><th>AGENT</th><th>STATE</th><th>RESTARTS</th><th>STARTED</th><th>HEALTH</th><th>MESSAGE</th></tr>
        </thead>
        <tbody>
          ${repeat(
            instances,
            (i) => i.metadata.uid ?? i.metadata.name,
            (i) => html`<tr data-key=${i.metadata.name} class=${i.metadata.name === shown?.metadata.name ? 'selected' : ''} @click=${() => (this.selected = i.metadata.name)}>
              <td class="mono">${i.metadata.name}</td>
              <td>${i.spec.agent ?? html`<span class="quiet">unscheduled</span>`}</td>
              <td>${badge(i.metadata.deletionTimestamp ? 'Terminating' : (i.status?.state ?? 'Pending'))}</td>
              <td class="num">${i.status?.restarts ?? 0}</td>
              <td class="num">${i.status?.startedAt ? `${age(i.status.startedAt, now)} ago` : '—'}</td>
              <td>${i.status?.health ? badge(i.status.health) : html`<span class="quiet">—</span>`}</td>
              <td>${i.status?.message ?? ''}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${instances.length ? '' : html`<div class="empty">No instances.</div>`}
      ${shown
        ? html`<h3>Instance <span class="mono">${shown.metadata.name}</span></h3>
            <instance-panel .workload=${workload} .instance=${shown} .stats=${this.stats.items.find((s) => s.instance === shown.metadata.name)} .now=${now}></instance-panel>`
        : ''}

      <h3>Events</h3>
      ${eventRows(events, now, { showObject: true })}`;
  }
}

customElements.define('workload-detail', WorkloadDetail);
