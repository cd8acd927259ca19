// Events, newest first: TYPE, REASON, OBJECT, MESSAGE, COUNT, AGE. Shows the newest
// MAX_EVENT_ROWS: events are short-lived, and a page of thousands helps nobody.
import { LitElement, html, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Event as LatticeEvent } from '../../../schemas/types.gen.ts';
import { age } from '../format.ts';
import { workloadHref } from '../router.ts';
import { session } from '../session.ts';
import { newestFirst } from '../view-models.ts';
import { ChunkedRenderController, ClockController, WatchController } from '../watch-controller.ts';
import { sharedStyles } from './shared-styles.ts';

export const MAX_EVENT_ROWS = 500;

function objectCell(event: LatticeEvent): TemplateResult {
  const o = event.spec.involvedObject;
  const text = `${o.kind}/${o.name}`;
  return o.kind === 'Workload' && o.namespace ? html`<a href=${workloadHref(o.namespace, o.name)}>${text}</a>` : html`${text}`;
}

/** The events table, shared by this view and the workload detail. */
export function eventRows(events: readonly LatticeEvent[], now: number, options: { showObject: boolean; chunks?: ChunkedRenderController }): TemplateResult {
  if (events.length === 0) return html`<div class="empty">No events.</div>`;
  const newest = events.slice(0, MAX_EVENT_ROWS);
  const shown = options.chunks ? options.chunks.take(newest) : newest;
  return html`<table class="events">
      <thead>
        <tr>
          <th>TYPE</th>
          <th>REASON</th>
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
            <td class=${e.spec.type === 'Warning' ? 'warn' : 'quiet'}>${e.spec.type ?? 'Normal'}</td>
            <td>${e.spec.reason}</td>
            ${options.showObject ? html`<td>${objectCell(e)}</td>` : ''}
            <td>${e.spec.message ?? ''}</td>
            <td class="num">${e.spec.count ?? 1}</td>
            <td class="num">${age(e.spec.lastTimestamp ?? e.metadata.creationTimestamp, now)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${events.length > newest.length ? html`<div class="empty">Showing the newest ${newest.length} of ${events.length}.</div>` : ''}`;
}

export class EventsView extends LitElement {
  static override styles = sharedStyles;

  private readonly events = new WatchController<LatticeEvent>(this, session, 'Event');
  private readonly clock = new ClockController(this);
  private readonly chunks = new ChunkedRenderController(this);

  override render() {
    return html`<h2>Events</h2>
      ${this.events.synced ? eventRows(newestFirst(this.events.items), this.clock.now, { showObject: true, chunks: this.chunks }) : html`<div class="empty">Loading…</div>`}`;
  }
}

customElements.define('events-view', EventsView);
