// Styles every view shares: tables, status badges, usage bars, labels.
import { css, html, type TemplateResult } from 'lit';

export const sharedStyles = css`
  :host {
    display: block;
  }
  h2 {
    font-size: 1.15rem;
    margin: 0 0 0.75rem;
  }
  h3 {
    font-size: 1rem;
    margin: 1.5rem 0 0.5rem;
  }
  table {
    width: 100%;
    border-collapse: collapse;
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: 6px;
    font-size: 0.875rem;
  }
  th {
    text-align: left;
    font-size: 0.72rem;
    letter-spacing: 0.04em;
    color: var(--muted);
    font-weight: 600;
    padding: 0.5rem 0.75rem;
    border-bottom: 1px solid var(--border);
    white-space: nowrap;
  }
  td {
    padding: 0.45rem 0.75rem;
    border-bottom: 1px solid var(--border-soft);
    vertical-align: top;
  }
  tr:last-child td {
    border-bottom: none;
  }
  td.num {
    font-variant-numeric: tabular-nums;
  }
  /* Filters above a list (namespace, labels). */
  .filters {
    display: flex;
    gap: 0.75rem;
    align-items: end;
    margin-bottom: 0.75rem;
    flex-wrap: wrap;
  }
  .filters label {
    display: grid;
    gap: 0.2rem;
    font-size: 0.78rem;
    color: var(--muted);
  }
  .filters select,
  .filters input {
    font: inherit;
    font-size: 0.875rem;
    padding: 0.3rem 0.45rem;
    border: 1px solid var(--border);
    border-radius: 5px;
    background: var(--surface);
  }
  @media (max-width: 600px) {
    /* A narrow screen scrolls a wide table, not the page. */
    table {
      display: block;
      overflow-x: auto;
    }
  }
  a {
    color: var(--link);
    text-decoration: none;
  }
  a:hover {
    text-decoration: underline;
  }
  .empty {
    color: var(--muted);
    padding: 1.5rem 0.75rem;
    text-align: center;
  }
  .badge {
    display: inline-block;
    padding: 0.05rem 0.5rem;
    border-radius: 999px;
    font-size: 0.78rem;
    font-weight: 600;
    border: 1px solid currentColor;
    white-space: nowrap;
  }
  .good {
    color: var(--good);
  }
  .info {
    color: var(--info);
  }
  .wait {
    color: var(--wait);
  }
  .warn {
    color: var(--warn);
  }
  .bad {
    color: var(--bad);
  }
  .quiet {
    color: var(--muted);
  }
  .chip {
    display: inline-block;
    background: var(--chip);
    border-radius: 4px;
    padding: 0 0.35rem;
    margin: 0 0.25rem 0.2rem 0;
    font-family: var(--mono);
    font-size: 0.75rem;
  }
  .usage {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    min-width: 11rem;
  }
  meter {
    width: 5rem;
    height: 0.6rem;
  }
  meter::-webkit-meter-bar {
    background: var(--chip);
    border: none;
    border-radius: 999px;
  }
  meter::-webkit-meter-optimum-value {
    background: var(--info);
    border-radius: 999px;
  }
  meter::-webkit-meter-suboptimum-value,
  meter::-webkit-meter-even-less-good-value {
    background: var(--warn);
    border-radius: 999px;
  }
  .mono {
    font-family: var(--mono);
    font-size: 0.8rem;
  }
`;

/** Colour class for a phase, state, health or condition status; anything else is quiet. */
export function tone(state: string | undefined): string {
  switch (state) {
    case 'Running':
    case 'Healthy':
    case 'True':
    case 'Ready':
      return 'good';
    case 'Progressing':
    case 'Starting':
      return 'info';
    case 'Pending':
    case 'Terminating':
    case 'Unknown':
      return 'wait';
    case 'Degraded':
    case 'Exited':
    case 'Lost':
    case 'NotReady':
      return 'warn';
    case 'Failed':
    case 'Unhealthy':
      return 'bad';
    default:
      return 'quiet';
  }
}

export function badge(text: string, toneOf = text): TemplateResult {
  return html`<span class="badge ${tone(toneOf)}">${text}</span>`;
}

/** A badge coloured by what the text means rather than what it says (see conditionMeaning). */
export function meaningBadge(text: string, meaning: string): TemplateResult {
  return html`<span class="badge ${meaning}">${text}</span>`;
}

/**
 * A used/total bar: a native <meter>, so no inline style is needed (the page's CSP refuses
 * style attributes). It turns amber past 85 %.
 */
export function usageBar(used: number, total: number, format: (n: number) => string): TemplateResult {
  const max = total > 0 ? total : 1;
  return html`<div class="usage" title="allocated / allocatable">
    <meter min="0" max=${max} value=${Math.min(used, max)} low=${max * 0.85} high=${max * 0.85} optimum="0"></meter>
    <span class="num">${format(used)} / ${total > 0 ? format(total) : '?'}</span>
  </div>`;
}
