// Agents: NAME, READY, RUNTIME, CPU and MEMORY (allocated / allocatable, as bars), INSTANCES,
// LAST HEARTBEAT, LABELS.
import { LitElement, html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Instance, ServedAgent } from '../../../schemas/types.gen.ts';
import { approximateCpu, approximateMemory } from '../../../schemas/quantity.ts';
import { age } from '../format.ts';
import { session } from '../session.ts';
import { agentRows } from '../view-models.ts';
import { ChunkedRenderController, ClockController, WatchController } from '../watch-controller.ts';
import { badge, sharedStyles, usageBar } from './shared-styles.ts';

export class AgentsView extends LitElement {
  static override styles = sharedStyles;

  private readonly agents = new WatchController<ServedAgent>(this, session, 'Agent');
  private readonly instances = new WatchController<Instance>(this, session, 'Instance');
  private readonly clock = new ClockController(this);
  private readonly chunks = new ChunkedRenderController(this);

  override render() {
    const rows = agentRows(this.agents.items, this.instances.items);
    const now = this.clock.now;
    return html`<h2>Agents</h2>
      <table>
        <thead>
          <tr>
            <th>NAME</th>
            <th>READY</th>
            <th>RUNTIME</th>
            <th>CPU</th>
            <th>MEMORY</th>
            <th>INSTANCES</th>
            <th>LAST HEARTBEAT</th>
            <th>LABELS</th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            this.chunks.take(rows),
            (row) => row.key,
            (row) => {
              const ready = row.ready?.status === 'True';
              return html`<tr data-key=${row.key}>
                <td>${row.name}${row.owner ? html` <span class="quiet">(private: ${row.owner})</span>` : ''}</td>
                <td title=${row.ready?.message ?? ''}>${badge(ready ? 'Ready' : 'NotReady')}${row.unschedulable ? html` <span class="quiet">unschedulable</span>` : ''}</td>
                <td>${row.runtimes.join(', ') || html`<span class="quiet">—</span>`}</td>
                <td>${usageBar(row.cpu.used, row.cpu.total, approximateCpu)}</td>
                <td>${usageBar(row.memory.used, row.memory.total, approximateMemory)}</td>
                <td class="num">${row.instances}</td>
                <td class="num">${row.lastHeartbeat ? `${age(row.lastHeartbeat, now)} ago` : 'never'}</td>
                <td>${row.labels.map(([k, v]) => html`<span class="chip">${k}=${v}</span>`)}</td>
              </tr>`;
            },
          )}
        </tbody>
      </table>
      ${rows.length === 0 ? html`<div class="empty">${this.agents.synced ? 'No agents: start one with lattice agent --join-token …' : 'Loading…'}</div>` : ''}`;
  }
}

customElements.define('agents-view', AgentsView);
