// A client for the selected context. Access tokens from `lattice login` are refreshed
// transparently: shortly before they expire, and again if the server refuses one with 401. Every
// refresh rotates the refresh token, so concurrent CLI processes (a `gitops` loop and a `get`)
// take a lock around it and adopt a token another process has just refreshed instead of
// replaying the old refresh token (which the server treats as theft and answers by ending the
// session).
import { LatticeApiError, LatticeClient } from '../client/api-client.ts';
import { nodeWebSocket } from '../client/node-websocket.ts';
import { withLock } from './config-lock.ts';
import { configPath, readConfig, selectContext, writeConfig, type Context } from './context.ts';
import { CliError } from './errors.ts';

/** Refresh this long before the access token expires (a token expiring in flight gets a 401, then a refresh). */
const REFRESH_MARGIN_MS = 1_000;

export interface Session {
  client: LatticeClient;
  contextName: string;
  context: Context;
  /** The namespace commands use without -n. */
  namespace(): Promise<string>;
  /** Refreshes if the access token is about to expire (opening a session does; so does each watch). */
  fresh(): Promise<void>;
}

export interface SessionOptions {
  context?: string;
}

export async function openSession(options: SessionOptions = {}): Promise<Session> {
  const path = configPath();
  const { name, context } = selectContext(readConfig(path), options.context ?? process.env.LATTICE_CONTEXT, path);
  let current = context;
  let namespace: string | undefined = context.namespace ?? context.username;

  const refresh = async (): Promise<string> => {
    const refreshed = await withLock(`${path}.lock`, async () => {
      // Another process may have refreshed meanwhile: its token is as good as ours would be.
      const stored = readConfig(path).contexts[name];
      if (stored && stored.token !== current.token && !expiresSoon(stored)) return stored;
      if (!stored?.refreshToken) throw new CliError(`the session of context ${JSON.stringify(name)} has no refresh token: log in again with \`lattice login --server ${current.server}\``);
      let pair;
      try {
        pair = await new LatticeClient({ server: current.server }).refresh(stored.refreshToken);
      } catch (error) {
        if (error instanceof LatticeApiError && error.status === 401) {
          throw new CliError(`the session of context ${JSON.stringify(name)} has ended (${error.body.message}): log in again with \`lattice login --server ${current.server}\``);
        }
        throw error;
      }
      const next: Context = { ...stored, token: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: new Date(Date.now() + pair.expiresIn * 1000).toISOString() };
      const config = readConfig(path);
      config.contexts[name] = next;
      writeConfig(config, path);
      return next;
    });
    current = refreshed;
    return refreshed.token;
  };

  let client = makeClient(current, context.refreshToken ? refresh : undefined);
  const session: Session = {
    get client() {
      return client;
    },
    contextName: name,
    get context() {
      return current;
    },
    async namespace() {
      namespace ??= (await client.whoami()).namespaces[0];
      if (!namespace) throw new CliError('your user belongs to no namespace: pass -n NAMESPACE');
      return namespace;
    },
    async fresh() {
      if (current.refreshToken && expiresSoon(current)) {
        await refresh();
        client = makeClient(current, refresh);
      }
    },
  };
  await session.fresh();
  return session;
}

function makeClient(context: Context, refresh: (() => Promise<string>) | undefined): LatticeClient {
  return new LatticeClient({ server: context.server, token: context.token, webSocket: nodeWebSocket, ...(refresh ? { onUnauthorized: refresh } : {}) });
}

function expiresSoon(context: Context): boolean {
  return context.expiresAt !== undefined && Date.parse(context.expiresAt) - REFRESH_MARGIN_MS <= Date.now();
}
