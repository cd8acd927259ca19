// The page: sign-in until there is a session, then the header (views, live indicator, who is
// signed in) and the view the address names. In-page links change the view without reloading.
import { LitElement, css, html } from 'lit';
import { NAVIGATE_EVENT, navigate } from '../navigation.ts';
import { parseRoute, type Route } from '../router.ts';
import { session } from '../session.ts';
import './agents-view.ts';
import './events-view.ts';
import './live-indicator.ts';
import './sign-in-form.ts';
import './workload-detail.ts';
import './workloads-view.ts';

export class LatticeApp extends LitElement {
  static override properties = { route: { state: true }, restoring: { state: true } };
  declare route: Route;
  declare restoring: boolean;

  static override styles = css`
    :host {
      display: block;
      min-height: 100vh;
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.5rem 1.5rem;
      padding: 0.6rem 1.5rem;
      background: var(--surface);
      border-bottom: 1px solid var(--border);
    }
    .brand {
      font-weight: 700;
      font-size: 1.05rem;
      color: var(--text);
      text-decoration: none;
    }
    nav {
      display: flex;
      gap: 0.25rem;
    }
    nav a {
      color: var(--muted);
      text-decoration: none;
      padding: 0.3rem 0.65rem;
      border-radius: 5px;
      font-size: 0.9rem;
    }
    nav a[aria-current='page'] {
      color: var(--text);
      background: var(--chip);
      font-weight: 600;
    }
    .spacer {
      flex: 1;
    }
    .who {
      font-size: 0.85rem;
      color: var(--muted);
    }
    button {
      font: inherit;
      font-size: 0.85rem;
      background: none;
      border: 1px solid var(--border);
      border-radius: 5px;
      padding: 0.2rem 0.6rem;
      cursor: pointer;
    }
    main {
      padding: 1.25rem 1.5rem 3rem;
      max-width: 90rem;
    }
    @media (max-width: 600px) {
      header,
      main {
        padding-left: 0.75rem;
        padding-right: 0.75rem;
      }
    }
    .empty {
      color: var(--muted);
    }
  `;

  constructor() {
    super();
    this.route = parseRoute(location.pathname, location.search);
    this.restoring = true;
  }

  private readonly onLocation = () => {
    this.route = parseRoute(location.pathname, location.search);
  };

  private readonly onSession = () => this.requestUpdate();

  // Links inside the views' shadow roots: the composed path finds the <a> that was clicked.
  private readonly onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.composedPath().find((node): node is HTMLAnchorElement => node instanceof HTMLAnchorElement);
    if (!anchor || anchor.target || anchor.origin !== location.origin) return;
    event.preventDefault();
    navigate(anchor.pathname + anchor.search);
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('popstate', this.onLocation);
    window.addEventListener(NAVIGATE_EVENT, this.onLocation);
    session.addEventListener('change', this.onSession);
    this.addEventListener('click', this.onClick);
    void session.restore().finally(() => (this.restoring = false));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('popstate', this.onLocation);
    window.removeEventListener(NAVIGATE_EVENT, this.onLocation);
    session.removeEventListener('change', this.onSession);
    this.removeEventListener('click', this.onClick);
  }

  override render() {
    if (this.restoring) return html`<main class="empty">Loading…</main>`;
    if (!session.user) return html`<sign-in-form></sign-in-form>`;
    const view = this.route.view;
    const current = (name: string) => (view === name || (name === 'workloads' && view === 'workload') ? 'page' : 'false');
    return html`<header>
        <a class="brand" href="/workloads">Lattice</a>
        <nav>
          <a href="/workloads" aria-current=${current('workloads')}>Workloads</a>
          <a href="/agents" aria-current=${current('agents')}>Agents</a>
          <a href="/events" aria-current=${current('events')}>Events</a>
        </nav>
        <span class="spacer"></span>
        <live-indicator></live-indicator>
        <span class="who">${session.user.username} · ${session.user.namespaces.join(', ') || 'no namespace'}</span>
        <button type="button" @click=${() => session.signOut()}>Sign out</button>
      </header>
      <main>${this.renderView(this.route)}</main>`;
  }

  private renderView(route: Route) {
    switch (route.view) {
      case 'workloads':
        return html`<workloads-view .namespace=${route.namespace} .labels=${route.labels}></workloads-view>`;
      case 'workload':
        return html`<workload-detail .namespace=${route.namespace} .name=${route.name}></workload-detail>`;
      case 'agents':
        return html`<agents-view></agents-view>`;
      case 'events':
        return html`<events-view></events-view>`;
      case 'not-found':
        return html`<p class="empty">Nothing at ${route.path}. <a href="/workloads">Go to the workloads</a>.</p>`;
    }
  }
}

customElements.define('lattice-app', LatticeApp);
