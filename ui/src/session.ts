// Who is signed in, with which token, and the page's live data. A password sign-in gets an
// access token (15 min) and a refresh token, and refreshes before the access token expires; a
// token sign-in (an API token) just uses it. Kept in sessionStorage: a reload stays signed in,
// closing the tab forgets it. Watches read the current token on every (re)connect.
import { LatticeApiError, LatticeClient } from '../../client/api-client.ts';
import type { KindName } from '../../schemas/kinds.ts';
import type { LatticeObject, TokenPair, WhoAmI } from '../../schemas/types.gen.ts';
import { LiveData, type Lease, type LiveSource } from './live-data.ts';

const STORAGE_KEY = 'lattice.session';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

interface Credentials {
  token: string;
  refreshToken?: string;
  /** Epoch ms the access token expires (password sign-in only). */
  expiresAt?: number;
}

export class Session extends EventTarget implements LiveSource {
  user: WhoAmI | undefined;
  live: LiveData | undefined;
  /** Why the last sign-in ended or failed, for the sign-in form. */
  notice: string | undefined;
  private credentials: Credentials | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** The refresh in flight: refresh tokens rotate, and using one twice revokes the session. */
  private refreshing: Promise<void> | undefined;
  private readonly anonymous: LatticeClient;

  constructor(server: string) {
    super();
    this.anonymous = new LatticeClient({ server });
  }

  client(): LatticeClient {
    return this.anonymous.withToken(this.credentials?.token ?? '');
  }

  use<T extends LatticeObject>(kind: KindName): Lease<T> {
    if (!this.live) throw new Error('not signed in');
    return this.live.use<T>(kind);
  }

  async signInWithPassword(username: string, password: string): Promise<void> {
    const pair = await this.anonymous.login(username, password);
    await this.begin(credentialsOf(pair));
  }

  async signInWithToken(token: string): Promise<void> {
    await this.begin({ token: token.trim() });
  }

  /** Picks up the session a reload left behind; false if there is none (or it is no good). */
  async restore(): Promise<boolean> {
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (!saved) return false;
    try {
      let credentials = JSON.parse(saved) as Credentials;
      if (credentials.expiresAt !== undefined && credentials.expiresAt - Date.now() < REFRESH_MARGIN_MS && credentials.refreshToken) {
        credentials = credentialsOf(await this.anonymous.refresh(credentials.refreshToken));
      }
      await this.begin(credentials);
      return true;
    } catch {
      sessionStorage.removeItem(STORAGE_KEY);
      return false;
    }
  }

  signOut(notice?: string): void {
    const refreshToken = this.credentials?.refreshToken;
    const client = this.client();
    clearTimeout(this.refreshTimer);
    this.live?.close();
    this.live = undefined;
    this.user = undefined;
    this.credentials = undefined;
    this.notice = notice;
    sessionStorage.removeItem(STORAGE_KEY);
    // Revoke the session on the server too (an API token stays valid: it is not the UI's to end).
    if (refreshToken) void client.logout(refreshToken).catch(() => undefined);
    this.changed();
  }

  private async begin(credentials: Credentials): Promise<void> {
    const user = await this.anonymous.withToken(credentials.token).whoami();
    this.live?.close();
    this.credentials = credentials;
    this.user = user;
    this.notice = undefined;
    this.save();
    this.scheduleRefresh();
    this.live = new LiveData(() => this.client());
    this.live.subscribe(() => this.checkAccess());
    this.changed();
  }

  private save(): void {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.credentials));
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const { expiresAt, refreshToken } = this.credentials ?? {};
    if (expiresAt === undefined || !refreshToken) return;
    this.refreshTimer = setTimeout(() => this.refresh(), Math.max(1_000, expiresAt - Date.now() - REFRESH_MARGIN_MS));
  }

  private refresh(): void {
    const refreshToken = this.credentials?.refreshToken;
    if (!refreshToken || this.refreshing) return;
    this.refreshing = this.anonymous.refresh(refreshToken).then(
      (pair) => {
        if (this.credentials?.refreshToken !== refreshToken) return; // signed out meanwhile
        this.credentials = credentialsOf(pair);
        this.save();
        this.scheduleRefresh();
      },
      (error: unknown) => {
        if (this.credentials?.refreshToken !== refreshToken) return;
        if (error instanceof LatticeApiError && error.status === 401) return this.signOut('Your session has ended: sign in again.');
        // The server is away (restarting?): try again shortly; the watches retry on their own.
        this.refreshTimer = setTimeout(() => this.refresh(), 5_000);
      },
    );
    void this.refreshing.finally(() => (this.refreshing = undefined));
  }

  /** A watch answered 401: the access token expired (refresh it) or the session was revoked. */
  private checkAccess(): void {
    const error = this.live?.lastError;
    if (!(error instanceof LatticeApiError && error.status === 401)) return;
    if (this.credentials?.refreshToken) this.refresh();
    else this.signOut(`The token was refused: ${error.body.message}`);
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}

function credentialsOf(pair: TokenPair): Credentials {
  return { token: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: Date.now() + pair.expiresIn * 1000 };
}

export const session = new Session(location.origin);
