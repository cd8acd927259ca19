// Events, newest first: TYPE, REASON, NAMESPACE, OBJECT, MESSAGE, COUNT, AGE, filtered by
// namespace. Shows the newest MAX_EVENT_ROWS: events are short-lived, and a page of thousands
// helps nobody.
import { LitElement, html, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { ServedEvent } from '../../../schemas/types.gen.ts';
import { age } from '../format.ts';
import { workloadHref } from '../router.ts';
import { session } from '../session.ts';
import { eventsIn } from '../view-models.ts';
import { ChunkedRenderController, ClockController, WatchController } from '../watch-controller.ts';
import { sharedStyles } from './shared-styles.ts';

export const MAX_EVENT_ROWS = 500;

function objectCell(event: ServedEvent): TemplateResult {
  const o = event.spec.involvedObject;
  const text = `${o.kind}/${o.name}`;
  return o.kind === 'Workload' && o.namespace ? html`<a href=${workloadHref(o.namespace, o.name)}>${text}</a>` : html`${text}`;
}

/** The events table, shared by this view and the workload detail. */
export function eventRows(events: readonly ServedEvent[], now: number, options: { showObject: boolean; showNamespace?: boolean; chunks?: ChunkedRenderController }): TemplateResult {
  if (events.length === 0) return html`<div class="empty">No events.</div>`;
  const newest = events.slice(0, MAX_EVENT_ROWS);
  const shown = options.chunks ? options.chunks.take(newest) : newest;
  return html`<table class="events">
      <thead>
        <tr>
          <th>TYPE</th>
          <th>REASON</th>
          ${options.showNamespace ? html`<th>NAMESPACE</th>` : ''}
          ${options.showObject ? html`<th>OBJECT</th>` : ''}
          <th>MESSAGE</th>
          <th>COUNT</th>
          <th>AGE</th>
        </tr>
      </thead>
      <tbody>
        ${repeat(
          shown,
          (e) => `${e.metadata.namespace}/${e.metadata.name}`,
          (e) => html`<tr data-time=${e.spec.lastTimestamp ?? e.metadata.creationTimestamp ?? ''}>
            <td class=${e.spec.type === 'Warning' ? 'warn' : 'quiet'}>${e.spec.type}</td>
            <td>${e.spec.reason}</td>
            ${options.showNamespace ? html`<td>${e.metadata.namespace}</td>` : ''}
            ${options.showObject ? html`<td>${objectCell(e)}</td>` : ''}
            <td>${e.spec.message ?? ''}</td>
            <td class="num">${e.spec.count}</td>
            <td class="num">${age(e.spec.lastTimestamp ?? e.metadata.creationTimestamp, now)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${events.length > newest.length ? html`<div class="empty">Showing the newest ${newest.length} of ${events.length}.</div>` : ''}`;
}

export class EventsView extends LitElement {
  static override styles = sharedStyles;
  static override properties = { namespace: { state: true } };
  /** '' for every namespace. */
  declare namespace: string;

  constructor() {
    super();
    this.namespace = '';
  }

  private readonly events = new WatchController<ServedEvent>(this, session, 'Event');
  private readonly clock = new ClockController(this);
  private readonly chunks = new ChunkedRenderController(this);

  override render() {
    const namespaces = [...new Set([...(session.user?.namespaces ?? []), ...this.events.items.map((e) => e.metadata.namespace!)])].sort();
    return html`<h2>Events</h2>
      <div class="filters">
        <label
          >Namespace
          <select name="namespace" @change=${(e: Event) => (this.namespace = (e.target as HTMLSelectElement).value)}>
            <option value="" ?selected=${this.namespace === ''}>all namespaces</option>
            ${namespaces.map((ns) => html`<option value=${ns} ?selected=${ns === this.namespace}>${ns}</option>`)}
          </select>
        </label>
      </div>
      ${this.events.synced ? eventRows(eventsIn(this.events.items, this.namespace), this.clock.now, { showObject: true, showNamespace: true, chunks: this.chunks }) : html`<div class="empty">Loading…</div>`}`;
  }
}

customElements.define('events-view', EventsView);
