// Workloads: NAME, NAMESPACE, STATUS, READY, RESTARTS, ENDPOINTS, AGE, filtered by namespace and
// label selector. Rows are keyed (repeat) and ordered by namespace/name, so an update changes a
// row in place and never moves it.
import { LitElement, css, html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Endpoint, Instance, ServedWorkload } from '../../../schemas/types.gen.ts';
import { age, safeHref } from '../format.ts';
import { parseLabelFilter } from '../label-filter.ts';
import { navigate } from '../navigation.ts';
import { workloadHref, workloadsHref } from '../router.ts';
import { session } from '../session.ts';
import { namespaceChoices, workloadRows } from '../view-models.ts';
import { ChunkedRenderController, ClockController, WatchController } from '../watch-controller.ts';
import { badge, sharedStyles } from './shared-styles.ts';

export function endpointLinks(endpoints: readonly Endpoint[]) {
  if (endpoints.length === 0) return html`<span class="quiet">—</span>`;
  return endpoints.map((e) => {
    const href = safeHref(e.url);
    const text = `${e.port}: ${e.url}`;
    return html`<div>${href ? html`<a class="endpoint" href=${href} target="_blank" rel="noopener noreferrer">${text}</a>` : html`<span class="mono">${text}</span>`}</div>`;
  });
}

export class WorkloadsView extends LitElement {
  static override properties = { namespace: {}, labels: {} };
  declare namespace: string;
  declare labels: string;

  static override styles = [
    sharedStyles,
    css`
      input {
        width: 18rem;
      }
      .filter-error {
        color: var(--bad);
        font-size: 0.8rem;
        align-self: center;
      }
      .count {
        margin-left: auto;
        color: var(--muted);
        font-size: 0.8rem;
        align-self: center;
      }
    `,
  ];

  private readonly workloads = new WatchController<ServedWorkload>(this, session, 'Workload');
  private readonly instances = new WatchController<Instance>(this, session, 'Instance');
  private readonly clock = new ClockController(this);
  private readonly chunks = new ChunkedRenderController(this);

  constructor() {
    super();
    this.namespace = '';
    this.labels = '';
  }

  override render() {
    const filter = parseLabelFilter(this.labels);
    const rows = workloadRows(this.workloads.items, this.instances.items, { namespace: this.namespace || undefined, ...(filter.ok ? { labels: filter.matches } : {}) });
    const namespaces = namespaceChoices(session.user?.namespaces ?? [], this.workloads.items);
    const now = this.clock.now;
    return html`<h2>Workloads</h2>
      <div class="filters">
        <label
          >Namespace
          <select name="namespace" @change=${(e: Event) => this.setFilter({ namespace: (e.target as HTMLSelectElement).value })}>
            <option value="" ?selected=${this.namespace === ''}>all namespaces</option>
            ${namespaces.map((ns) => html`<option value=${ns} ?selected=${ns === this.namespace}>${ns}</option>`)}
          </select>
        </label>
        <label
          >Labels
          <input name="labels" placeholder="app=web,tier!=db" .value=${this.labels} @input=${(e: Event) => this.setFilter({ labels: (e.target as HTMLInputElement).value })} />
        </label>
        ${filter.ok ? '' : html`<span class="filter-error" role="alert">${filter.error}</span>`}
        <span class="count">${rows.length} of ${this.workloads.items.length}</span>
      </div>
      <table>
        <thead>
          <tr>
            <th>NAME</th>
            <th>NAMESPACE</th>
            <th>STATUS</th>
            <th>READY</th>
            <th>RESTARTS</th>
            <th>ENDPOINTS</th>
            <th>AGE</th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            this.chunks.take(rows),
            (row) => row.key,
            (row) => html`<tr data-key=${row.key}>
              <td><a href=${workloadHref(row.namespace, row.name)}>${row.name}</a></td>
              <td>${row.namespace}</td>
              <td>${badge(row.phase)}</td>
              <td class="num">${row.ready}/${row.desired}</td>
              <td class="num">${row.restarts}</td>
              <td>${endpointLinks(row.endpoints)}</td>
              <td class="num">${age(row.created, now)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${rows.length === 0
        ? html`<div class="empty">${!this.workloads.synced ? 'Loading…' : this.workloads.items.length === 0 ? 'No workloads yet: apply a manifest (examples/hello.yaml is one) and it shows up here.' : 'No workload matches the filter.'}</div>`
        : ''}`;
  }

  /** The filter lives in the address (shareable); changing it replaces the history entry. */
  private setFilter(change: { namespace?: string; labels?: string }): void {
    navigate(workloadsHref({ namespace: this.namespace, labels: this.labels, ...change }), { replace: true });
  }
}

customElements.define('workloads-view', WorkloadsView);
