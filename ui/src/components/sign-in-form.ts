// Sign in with a username and password, or with a token (an API token from
// `POST /api/v1/auth/tokens`, or the one `lattice up` writes to the CLI config).
import { LitElement, css, html } from 'lit';
import { LatticeApiError } from '../../../client/api-client.ts';
import { session } from '../session.ts';

type Mode = 'password' | 'token';

export class SignInForm extends LitElement {
  static override properties = { mode: { state: true }, error: { state: true }, busy: { state: true } };
  declare mode: Mode;
  declare error: string | undefined;
  declare busy: boolean;

  static override styles = css`
    :host {
      display: flex;
      justify-content: center;
      padding-top: 12vh;
    }
    form {
      width: 22rem;
      background: var(--surface);
      border: 1px solid var(--border);
      border-radius: 8px;
      padding: 1.5rem;
      display: grid;
      gap: 0.85rem;
    }
    h1 {
      margin: 0;
      font-size: 1.3rem;
    }
    p {
      margin: 0;
      color: var(--muted);
      font-size: 0.875rem;
    }
    label {
      display: grid;
      gap: 0.25rem;
      font-size: 0.85rem;
      font-weight: 600;
    }
    input {
      font: inherit;
      font-weight: 400;
      padding: 0.45rem 0.55rem;
      border: 1px solid var(--border);
      border-radius: 5px;
    }
    button {
      font: inherit;
      padding: 0.5rem;
      border-radius: 5px;
      border: 1px solid var(--accent);
      background: var(--accent);
      color: white;
      font-weight: 600;
      cursor: pointer;
    }
    button[disabled] {
      opacity: 0.6;
    }
    .switch {
      background: none;
      border: none;
      color: var(--link);
      font-weight: 400;
      padding: 0;
      justify-self: start;
    }
    .error {
      color: var(--bad);
      font-size: 0.875rem;
    }
  `;

  constructor() {
    super();
    this.mode = 'password';
    this.error = undefined;
    this.busy = false;
  }

  override render() {
    const notice = this.error ?? session.notice;
    return html`<form @submit=${this.submit} aria-label="Sign in">
      <h1>Lattice</h1>
      <p>Sign in to see your workloads, agents and events (read-only).</p>
      ${this.mode === 'password'
        ? html`<label>Username <input name="username" autocomplete="username" required /></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>`
        : html`<label>Token <input name="token" type="password" autocomplete="off" required placeholder="an API token" /></label>`}
      ${notice ? html`<div class="error" role="alert">${notice}</div>` : ''}
      <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Signing in…' : 'Sign in'}</button>
      <button type="button" class="switch" @click=${this.switchMode}>${this.mode === 'password' ? 'Sign in with a token instead' : 'Sign in with a password instead'}</button>
    </form>`;
  }

  private switchMode(): void {
    this.mode = this.mode === 'password' ? 'token' : 'password';
    this.error = undefined;
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    this.busy = true;
    this.error = undefined;
    try {
      if (this.mode === 'password') await session.signInWithPassword(String(data.get('username')), String(data.get('password')));
      else await session.signInWithToken(String(data.get('token')));
    } catch (error) {
      this.error = error instanceof LatticeApiError ? error.body.message : `Could not reach the server: ${(error as Error).message}`;
    } finally {
      this.busy = false;
    }
  }
}

customElements.define('sign-in-form', SignInForm);
