// "Live" while every watch the page uses is open; "Reconnecting…" (with why, on hover) while
// one is not; "Connecting…" before the first.
import { LitElement, css, html } from 'lit';
import { session } from '../session.ts';
import { LiveStatusController } from '../watch-controller.ts';

const LABEL = { live: 'Live', reconnecting: 'Reconnecting…', connecting: 'Connecting…' } as const;

export class LiveIndicator extends LitElement {
  static override styles = css`
    :host {
      display: inline-flex;
      align-items: center;
      gap: 0.4rem;
      font-size: 0.85rem;
      color: var(--muted);
    }
    .dot {
      width: 0.6rem;
      height: 0.6rem;
      border-radius: 50%;
      background: var(--wait);
    }
    .live .dot {
      background: var(--good);
    }
    .reconnecting .dot {
      background: var(--warn);
      animation: pulse 1s infinite alternate;
    }
    span.status {
      display: inline-flex;
      align-items: center;
      gap: 0.4rem;
    }
    @keyframes pulse {
      to {
        opacity: 0.3;
      }
    }
  `;

  constructor() {
    super();
    new LiveStatusController(this, () => session.live);
  }

  override render() {
    const status = session.live?.status ?? 'connecting';
    const why = status === 'live' ? 'every watch is open' : (session.live?.lastError?.message ?? 'opening the watches');
    return html`<span class="status ${status}" role="status" data-status=${status} title=${why}><span class="dot"></span>${LABEL[status]}</span>`;
  }
}

customElements.define('live-indicator', LiveIndicator);
