// Users, namespaces, sessions and tokens: the auth tables beside the objects. Token values are
// never stored, only their SHA-256 (they are long and random; a slow hash adds nothing).
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './db-schema.ts';
import type { DialectAdapter } from './dialects/adapter.ts';
import { AlreadyExistsError } from './errors.ts';

export type Role = 'admin' | 'user';

export interface UserRecord {
  username: string;
  passwordHash: string;
  role: Role;
  createdAt: string;
}

export interface RefreshTokenRecord {
  sessionId: string;
  username: string;
  expiresAt: string;
  usedAt: string | null;
  sessionRevokedAt: string | null;
}

export interface ApiTokenRecord {
  id: string;
  username: string;
  name: string;
  hash: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** A credential revoked here or by another replica: whatever caches or holds it must let go. */
export type Revocation = { session: string } | { agent: string };

export interface AuthStore {
  /**
   * Called for every session revoked and every agent credential replaced or deleted, by this
   * process or (PostgreSQL) another replica sharing the database, within moments of the commit.
   */
  onRevoked(listener: (revocation: Revocation) => void): void;
  /** Creates the user and makes it a member of its namespace. AlreadyExists if taken. */
  createUser(user: UserRecord, namespace: string): Promise<void>;
  findUser(username: string): Promise<UserRecord | undefined>;
  namespacesOf(username: string): Promise<string[]>;
  createSession(id: string, username: string, now: string): Promise<void>;
  /** undefined when the session is unknown or revoked. */
  activeSessionUser(id: string): Promise<string | undefined>;
  revokeSession(id: string, now: string): Promise<void>;
  addRefreshToken(hash: string, sessionId: string, expiresAt: string): Promise<void>;
  findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token used; false if it already was (a replay). Atomic across replicas. */
  useRefreshToken(hash: string, now: string): Promise<boolean>;
  createApiToken(token: ApiTokenRecord): Promise<void>;
  findApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  listApiTokens(username: string): Promise<ApiTokenRecord[]>;
  /** false when the user has no such live token. */
  revokeApiToken(username: string, id: string, now: string): Promise<boolean>;
  /** The value stored under name, created with generate() by whichever replica asks first. */
  serverKey(name: string, generate: () => string): Promise<string>;
  createJoinToken(token: JoinTokenRecord): Promise<void>;
  findJoinToken(id: string): Promise<JoinTokenRecord | undefined>;
  /** The user's join tokens, oldest first (expired ones too, until revoked). */
  listJoinTokens(username: string): Promise<JoinTokenRecord[]>;
  /** Forgets the token: no agent can join with it any more. false when the user has no such token. */
  deleteJoinToken(username: string, id: string): Promise<boolean>;
  /** Sets (or replaces: re-registration rotates it) an agent's credential. */
  setAgentCredential(agent: string, hash: string, now: string): Promise<void>;
  agentCredentialHash(agent: string): Promise<string | undefined>;
  /** Revokes the agent's credential (its Agent was deleted); false if it had none. */
  deleteAgentCredential(agent: string): Promise<boolean>;
}

export interface JoinTokenRecord {
  id: string;
  username: string;
  hash: string;
  createdAt: string;
  expiresAt: string;
}

export class SqlAuthStore implements AuthStore {
  private readonly db: Kysely<Database>;

  private readonly revocationListeners: ((revocation: Revocation) => void)[] = [];
  /** Names this store in what it announces. */
  private readonly origin = randomBytes(6).toString('hex');

  constructor(private readonly adapter: DialectAdapter) {
    this.db = adapter.writer;
  }

  onRevoked(listener: (revocation: Revocation) => void): void {
    this.revocationListeners.push(listener);
  }

  /** What another replica revoked (the adapter's listener passes it on). */
  revokedElsewhere(announced: string): void {
    const space = announced.indexOf(' ');
    // This store's own announcement comes back too (its LISTEN session hears every NOTIFY).
    if (announced.slice(0, space) === this.origin) return;
    const revocation = decodeRevocation(announced.slice(space + 1));
    if (revocation) this.notifyRevoked(revocation);
  }

  /** Here at once; the other replicas once the adapter has told them. */
  private async revoked(revocation: Revocation): Promise<void> {
    this.notifyRevoked(revocation);
    await this.adapter.revoke(`${this.origin} ${'session' in revocation ? `session:${revocation.session}` : `agent:${revocation.agent}`}`);
  }

  private notifyRevoked(revocation: Revocation): void {
    for (const listener of this.revocationListeners) listener(revocation);
  }

  /** A write, acknowledged once durable (see DialectAdapter.afterCommit). */
  private async write<T>(run: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const result = await run(this.db);
    await this.adapter.afterCommit();
    return result;
  }

  async createUser(user: UserRecord, namespace: string): Promise<void> {
    try {
      await this.write((db) =>
        db.transaction().execute(async (trx) => {
          await trx
            .insertInto('users')
            .values({ username: user.username, password_hash: user.passwordHash, role: user.role, created_at: user.createdAt })
            .execute();
          await trx.insertInto('namespace_members').values({ namespace, username: user.username }).execute();
        }),
      );
    } catch (error) {
      if (this.adapter.isUniqueViolation(error)) throw new AlreadyExistsError(`user ${user.username}`);
      throw error;
    }
  }

  async findUser(username: string): Promise<UserRecord | undefined> {
    const row = await this.adapter.reader.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row && { username: row.username, passwordHash: row.password_hash, role: row.role, createdAt: row.created_at };
  }

  async namespacesOf(username: string): Promise<string[]> {
    const rows = await this.adapter.reader
      .selectFrom('namespace_members')
      .select('namespace')
      .where('username', '=', username)
      .orderBy('namespace')
      .execute();
    return rows.map((r) => r.namespace);
  }

  async createSession(id: string, username: string, now: string): Promise<void> {
    await this.write((db) => db.insertInto('sessions').values({ id, username, created_at: now, revoked_at: null }).execute());
  }

  async activeSessionUser(id: string): Promise<string | undefined> {
    const row = await this.adapter.reader.selectFrom('sessions').select(['username', 'revoked_at']).where('id', '=', id).executeTakeFirst();
    return row && row.revoked_at === null ? row.username : undefined;
  }

  async revokeSession(id: string, now: string): Promise<void> {
    await this.write((db) => db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute());
    await this.revoked({ session: id });
  }

  async addRefreshToken(hash: string, sessionId: string, expiresAt: string): Promise<void> {
    await this.write((db) => db.insertInto('refresh_tokens').values({ hash, session_id: sessionId, expires_at: expiresAt, used_at: null }).execute());
  }

  async findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.adapter.reader
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select(['refresh_tokens.session_id', 'sessions.username', 'refresh_tokens.expires_at', 'refresh_tokens.used_at', 'sessions.revoked_at'])
      .where('refresh_tokens.hash', '=', hash)
      .executeTakeFirst();
    return (
      row && { sessionId: row.session_id, username: row.username, expiresAt: row.expires_at, usedAt: row.used_at, sessionRevokedAt: row.revoked_at }
    );
  }

  async useRefreshToken(hash: string, now: string): Promise<boolean> {
    const result = await this.write((db) =>
      db.updateTable('refresh_tokens').set({ used_at: now }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async createApiToken(token: ApiTokenRecord): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('api_tokens')
        .values({
          id: token.id,
          username: token.username,
          name: token.name,
          hash: token.hash,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          revoked_at: token.revokedAt,
        })
        .execute(),
    );
  }

  async findApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    const row = await this.adapter.reader.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toApiToken(row);
  }

  async listApiTokens(username: string): Promise<ApiTokenRecord[]> {
    const rows = await this.adapter.reader.selectFrom('api_tokens').selectAll().where('username', '=', username).orderBy('created_at').execute();
    return rows.map(toApiToken);
  }

  async revokeApiToken(username: string, id: string, now: string): Promise<boolean> {
    const result = await this.write((db) =>
      db
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('username', '=', username)
        .where('revoked_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async createJoinToken(token: JoinTokenRecord): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('join_tokens')
        .values({ id: token.id, username: token.username, hash: token.hash, created_at: token.createdAt, expires_at: token.expiresAt })
        .execute(),
    );
  }

  async findJoinToken(id: string): Promise<JoinTokenRecord | undefined> {
    const row = await this.adapter.reader.selectFrom('join_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { id: row.id, username: row.username, hash: row.hash, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  async listJoinTokens(username: string): Promise<JoinTokenRecord[]> {
    const rows = await this.adapter.reader.selectFrom('join_tokens').selectAll().where('username', '=', username).orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => ({ id: row.id, username: row.username, hash: row.hash, createdAt: row.created_at, expiresAt: row.expires_at }));
  }

  async deleteJoinToken(username: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('join_tokens').where('id', '=', id).where('username', '=', username).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async setAgentCredential(agent: string, hash: string, now: string): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('agent_credentials')
        .values({ agent, hash, created_at: now })
        .onConflict((oc) => oc.column('agent').doUpdateSet({ hash, created_at: now }))
        .execute(),
    );
    await this.revoked({ agent });
  }

  async agentCredentialHash(agent: string): Promise<string | undefined> {
    const row = await this.adapter.reader.selectFrom('agent_credentials').select('hash').where('agent', '=', agent).executeTakeFirst();
    return row?.hash;
  }

  async deleteAgentCredential(agent: string): Promise<boolean> {
    const result = await this.write((db) => db.deleteFrom('agent_credentials').where('agent', '=', agent).executeTakeFirst());
    await this.revoked({ agent });
    return Number(result.numDeletedRows) === 1;
  }

  async serverKey(name: string, generate: () => string): Promise<string> {
    await this.write((db) =>
      db
        .insertInto('server_keys')
        .values({ name, value: generate() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute(),
    );
    const row = await this.db.selectFrom('server_keys').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}

function toApiToken(row: Database['api_tokens']): ApiTokenRecord {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    hash: row.hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

function decodeRevocation(encoded: string): Revocation | undefined {
  const colon = encoded.indexOf(':');
  const [kind, value] = [encoded.slice(0, colon), encoded.slice(colon + 1)];
  if (kind === 'session') return { session: value };
  if (kind === 'agent') return { agent: value };
  return undefined;
}
