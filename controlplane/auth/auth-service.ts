// Registration, login, token refresh with rotation and reuse detection, logout, API tokens,
// and turning a bearer token into a Principal.
import { randomUUID } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { ApiToken, TokenPair } from '../../schemas/types.gen.ts';
import type { ObjectStore } from '../../store/types.ts';
import type { AuthStore, Role } from '../../store/auth-store.ts';
import { isStoreError } from '../../store/errors.ts';
import { ApiError, badRequest, notFound, unauthorized } from '../errors.ts';
import type { ServerConfig } from '../config.ts';
import type { Principal } from './principal.ts';
import { WindowLimiter } from './rate-limiter.ts';
import { AccessTokens, generateSecret, hashToken, newApiToken, newRefreshToken, parseApiToken, replicaCredential, sameHash } from './tokens.ts';

// How long a session found active is trusted without asking the database again. Revocations take
// effect at once here and, told by the store, on the other replicas within moments; this bounds it
// when that word is lost (a replica's listening connection down).
const SESSION_CHECK_TTL_MS = 2000;

const USERNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RESERVED_USERNAMES = new Set(['system', 'lattice', 'default']);
const MAX_PASSWORD_BYTES = 72; // bcrypt ignores the rest
/**
 * The per-user limit over every address is this many times the per-address one, over a window
 * this many times as long (10 failures a minute from one address; 100 in 10 minutes from all).
 */
const USER_FAILURES_FROM_ANYWHERE = 10;

export class AuthService {
  /** Wrong passwords for a user from one address: a guesser there is stopped, the user elsewhere is not. */
  private readonly failuresPerUserAddress: WindowLimiter;
  /** Wrong passwords for a user from anywhere: a slower limit against guessing from many addresses. */
  private readonly failuresPerUser: WindowLimiter;
  private readonly attemptsPerAddress: WindowLimiter;
  private readonly registrationsPerAddress: WindowLimiter;
  // Compared against when the user does not exist, so a login takes as long either way. Made on
  // the thread pool at the first such login: hashed at startup, it held up every start.
  private dummyHash: Promise<string> | undefined;
  private readonly activeSessions = new Map<string, { username: string; checkedAtMs: number }>();

  private constructor(
    private readonly auth: AuthStore,
    private readonly tokens: AccessTokens,
    private readonly config: ServerConfig,
    private readonly now: () => Date,
    /** What other replicas present to this one's internal routes (replicaCredential). */
    readonly replicaCredential: string,
  ) {
    auth.onRevoked((revocation) => {
      if ('session' in revocation) this.activeSessions.delete(revocation.session);
    });
    const windowMs = config.login.windowSeconds * 1000;
    this.failuresPerUserAddress = new WindowLimiter(config.login.perUserFailures, windowMs);
    this.failuresPerUser = new WindowLimiter(config.login.perUserFailures * USER_FAILURES_FROM_ANYWHERE, windowMs * USER_FAILURES_FROM_ANYWHERE);
    this.attemptsPerAddress = new WindowLimiter(config.login.perAddressAttempts, windowMs);
    this.registrationsPerAddress = new WindowLimiter(config.registrationsPerAddressPerHour, 3_600_000);
  }

  static async create(store: ObjectStore, config: ServerConfig, now: () => Date = () => new Date()): Promise<AuthService> {
    const secret = config.jwtSecret ?? (await store.auth.serverKey('jwt-hs256', generateSecret));
    const service = new AuthService(store.auth, new AccessTokens(secret, config.accessTokenTtlSeconds, () => now().getTime()), config, now, replicaCredential(secret));
    if (config.bootstrapAdmin) await service.bootstrapAdmin(config.bootstrapAdmin.username, config.bootstrapAdmin.password);
    return service;
  }

  /**
   * The configured admin: created on the first start, kept afterwards (its password may have been
   * changed since). A user of that name who is not an admin registered it before the operator
   * configured it: starting would leave the operator locked out and the squatter holding the name.
   */
  private async bootstrapAdmin(username: string, password: string): Promise<void> {
    try {
      await this.createUserUnlessAdmin(username, password);
    } catch (error) {
      // Replicas starting together race to create it: the loser finds the winner's admin.
      if (!(error instanceof ApiError && error.reason === 'AlreadyExists')) throw error;
      await this.createUserUnlessAdmin(username, password);
    }
  }

  private async createUserUnlessAdmin(username: string, password: string): Promise<void> {
    const existing = await this.auth.findUser(username);
    if (existing?.role === 'admin') return;
    if (existing) {
      throw new Error(
        `the configured admin username ${JSON.stringify(username)} belongs to an existing user who is not an admin (registered ${existing.createdAt}): ` +
          'choose another LATTICE_ADMIN_USERNAME, or remove that user from the database; set LATTICE_REGISTRATION=closed until the admin exists',
      );
    }
    await this.createUser(username, password, 'admin');
  }

  /** Every attempt counts against the address (each costs a bcrypt hash, and names are not to be farmed). */
  async register(username: unknown, password: unknown, address: string): Promise<{ username: string; namespace: string }> {
    if (this.config.registration === 'closed') throw new ApiError('Forbidden', 'registration is closed on this server; ask an admin for an account');
    const wait = this.registrationsPerAddress.retryAfter(address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ApiError('TooManyRequests', `too many registrations from this address (at most ${this.config.registrationsPerAddressPerHour} an hour); try again in ${seconds} s`, [], { 'retry-after': String(seconds) });
    }
    this.registrationsPerAddress.record(address);
    return this.createUser(username, password, 'user');
  }

  private async createUser(username: unknown, password: unknown, role: Role): Promise<{ username: string; namespace: string }> {
    const name = checkUsername(username);
    const secret = checkPassword(password);
    const passwordHash = await bcrypt.hash(secret, this.config.bcryptCost);
    try {
      await this.auth.createUser({ username: name, passwordHash, role, createdAt: this.timestamp() }, name);
    } catch (error) {
      if (isStoreError(error) && error.code === 'AlreadyExists') throw new ApiError('AlreadyExists', `username ${JSON.stringify(name)} is taken`);
      throw error;
    }
    return { username: name, namespace: name };
  }

  async login(username: unknown, password: unknown, address: string): Promise<TokenPair> {
    if (typeof username !== 'string' || typeof password !== 'string') throw badRequest('username and password are required strings');
    const userAtAddress = `${username}\0${address}`;
    const wait = Math.max(this.attemptsPerAddress.retryAfter(address), this.failuresPerUserAddress.retryAfter(userAtAddress), this.failuresPerUser.retryAfter(username));
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ApiError('TooManyRequests', `too many login attempts; try again in ${seconds} s`, [], { 'retry-after': String(seconds) });
    }
    this.attemptsPerAddress.record(address);
    const user = await this.auth.findUser(username);
    const matches = await bcrypt.compare(password, user?.passwordHash ?? (await (this.dummyHash ??= bcrypt.hash('lattice-timing-equaliser', this.config.bcryptCost))));
    if (!user || !matches) {
      this.failuresPerUserAddress.record(userAtAddress);
      this.failuresPerUser.record(username);
      throw unauthorized('wrong username or password');
    }
    this.failuresPerUserAddress.reset(userAtAddress);
    const sessionId = randomUUID();
    await this.auth.createSession(sessionId, user.username, this.timestamp());
    return this.issue(user.username, user.role, sessionId);
  }

  async refresh(refreshToken: unknown): Promise<TokenPair> {
    if (typeof refreshToken !== 'string' || refreshToken === '') throw badRequest('refreshToken is required');
    const hash = hashToken(refreshToken);
    const record = await this.auth.findRefreshToken(hash);
    if (!record) throw unauthorized('refresh token is not valid');
    if (record.sessionRevokedAt) throw unauthorized('this session has been revoked; log in again');
    if (record.usedAt !== null || !(await this.auth.useRefreshToken(hash, this.timestamp()))) {
      // A rotated token came back: someone holds a copy. End the whole session.
      await this.revokeSession(record.sessionId);
      throw unauthorized('refresh token was already used; the session has been revoked, log in again');
    }
    if (Date.parse(record.expiresAt) <= this.now().getTime()) throw unauthorized('refresh token has expired; log in again');
    const user = await this.auth.findUser(record.username);
    if (!user) throw unauthorized('the user no longer exists');
    return this.issue(user.username, user.role, record.sessionId);
  }

  async logout(principal: Principal, refreshToken: unknown): Promise<void> {
    if (principal.sessionId) await this.revokeSession(principal.sessionId);
    if (typeof refreshToken === 'string' && refreshToken !== '') {
      const record = await this.auth.findRefreshToken(hashToken(refreshToken));
      if (record && record.username === principal.username) await this.revokeSession(record.sessionId);
    }
  }

  private async revokeSession(id: string): Promise<void> {
    await this.auth.revokeSession(id, this.timestamp());
  }

  private async sessionUser(id: string): Promise<string | undefined> {
    const nowMs = this.now().getTime();
    const cached = this.activeSessions.get(id);
    if (cached && nowMs - cached.checkedAtMs < SESSION_CHECK_TTL_MS) return cached.username;
    const username = await this.auth.activeSessionUser(id);
    if (username === undefined) this.activeSessions.delete(id);
    else {
      if (this.activeSessions.size > 10_000) this.activeSessions.clear();
      this.activeSessions.set(id, { username, checkedAtMs: nowMs });
    }
    return username;
  }

  private async issue(username: string, role: Role, sessionId: string): Promise<TokenPair> {
    const namespaces = await this.auth.namespacesOf(username);
    const refreshToken = newRefreshToken();
    const expiresAt = new Date(this.now().getTime() + this.config.refreshTokenTtlSeconds * 1000).toISOString();
    await this.auth.addRefreshToken(hashToken(refreshToken), sessionId, expiresAt);
    const accessToken = await this.tokens.sign({ username, role, namespaces, sessionId });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.tokens.expiresIn };
  }

  /** A bearer token (access JWT or API token) → who is calling; 401 otherwise. */
  async authenticate(bearer: string): Promise<Principal> {
    const api = parseApiToken(bearer);
    if (api) return this.authenticateApiToken(api.id, api.secret);
    const claims = await this.tokens.verify(bearer);
    if ('refused' in claims) throw unauthorized(claims.refused);
    if ((await this.sessionUser(claims.sessionId)) !== claims.username) throw unauthorized('this session has been revoked; log in again');
    return { kind: 'user', username: claims.username, role: claims.role, namespaces: claims.namespaces, sessionId: claims.sessionId };
  }

  /**
   * The user as its own process acts for it, without a credential: for `lattice up`, which runs
   * the server and is the admin's launcher (a login would cost a bcrypt compare on every start).
   */
  async principalOf(username: string): Promise<Principal> {
    const user = await this.auth.findUser(username);
    if (!user) throw unauthorized(`no user ${JSON.stringify(username)}`);
    return { kind: 'user', username: user.username, role: user.role, namespaces: await this.auth.namespacesOf(user.username) };
  }

  private async authenticateApiToken(id: string, secret: string): Promise<Principal> {
    const record = await this.auth.findApiToken(id);
    if (!record || !sameHash(record.hash, hashToken(secret))) throw unauthorized('API token is not valid');
    if (record.revokedAt) throw unauthorized('API token has been revoked');
    if (record.expiresAt && Date.parse(record.expiresAt) <= this.now().getTime()) throw unauthorized('API token has expired');
    const user = await this.auth.findUser(record.username);
    if (!user) throw unauthorized('the user no longer exists');
    return { kind: 'user', username: user.username, role: user.role, namespaces: await this.auth.namespacesOf(user.username), apiTokenId: id };
  }

  async createApiToken(principal: Principal, name: unknown, expiresInDays: unknown): Promise<ApiToken & { token: string }> {
    if (typeof name !== 'string' || !/^[-._a-zA-Z0-9 ]{1,64}$/.test(name)) {
      throw badRequest('name: must be 1 to 64 letters, digits, spaces, dots, dashes or underscores', [{ path: 'name', message: 'must be 1 to 64 letters, digits, spaces, dots, dashes or underscores' }]);
    }
    if (expiresInDays !== undefined && (!Number.isSafeInteger(expiresInDays) || (expiresInDays as number) < 1 || (expiresInDays as number) > 3650)) {
      throw badRequest('expiresInDays: must be an integer from 1 to 3650', [{ path: 'expiresInDays', message: 'must be an integer from 1 to 3650' }]);
    }
    const { id, secret, token } = newApiToken();
    const createdAt = this.timestamp();
    const expiresAt = expiresInDays === undefined ? null : new Date(this.now().getTime() + (expiresInDays as number) * 86_400_000).toISOString();
    await this.auth.createApiToken({ id, username: principal.username, name, hash: hashToken(secret), createdAt, expiresAt, revokedAt: null });
    return { id, name, createdAt, expiresAt, revokedAt: null, token };
  }

  async listApiTokens(principal: Principal): Promise<ApiToken[]> {
    return (await this.auth.listApiTokens(principal.username)).map(({ id, name, createdAt, expiresAt, revokedAt }) => ({ id, name, createdAt, expiresAt, revokedAt }));
  }

  async revokeApiToken(principal: Principal, id: string): Promise<void> {
    if (!(await this.auth.revokeApiToken(principal.username, id, this.timestamp()))) throw notFound(`API token ${JSON.stringify(id)} not found (or already revoked)`);
  }

  private timestamp(): string {
    return this.now().toISOString();
  }
}

function checkUsername(value: unknown): string {
  const fail = (message: string) => badRequest(`username: ${message}`, [{ path: 'username', message }]);
  if (typeof value !== 'string') throw fail('is required');
  if (value.length < 3 || value.length > 32 || !USERNAME.test(value)) {
    throw fail('must be 3 to 32 lowercase letters, digits and "-", starting and ending with a letter or digit (it names your namespace)');
  }
  if (RESERVED_USERNAMES.has(value)) throw fail(`${JSON.stringify(value)} is reserved`);
  return value;
}

function checkPassword(value: unknown): string {
  const fail = (message: string) => badRequest(`password: ${message}`, [{ path: 'password', message }]);
  if (typeof value !== 'string') throw fail('is required');
  if (value.length < 8) throw fail('must be at least 8 characters');
  if (Buffer.byteLength(value) > MAX_PASSWORD_BYTES) throw fail(`must be at most ${MAX_PASSWORD_BYTES} bytes`);
  return value;
}
