// Join tokens and agent registration. A user's join token makes a private agent (only that
// user's namespaces schedule there); an admin's makes a shared one. Registering returns the
// agent's own credential, which only opens the agent connection.
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../store/types.ts';
import { validate, formatFieldErrors } from '../../schemas/validate.ts';
import type { Agent, JoinTokenCreated } from '../../schemas/types.gen.ts';
import { ApiError, badRequest, invalid, unauthorized } from '../errors.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { hashToken, sameHash } from '../auth/tokens.ts';

const JOIN_PREFIX = 'ljt_';
const AGENT_PREFIX = 'lag_';

function splitToken(value: string, prefix: string): { id: string; secret: string } | undefined {
  if (!value.startsWith(prefix)) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot <= prefix.length) return undefined;
  return { id: value.slice(prefix.length, dot), secret: value.slice(dot + 1) };
}

export function isAgentToken(value: string): boolean {
  return value.startsWith(AGENT_PREFIX);
}

export class AgentRegistry {
  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => Date,
    /** A long-lived join token from the server's config (LATTICE_AGENT_JOIN_TOKEN) for shared agents, e.g. in docker-compose. */
    private readonly configuredJoinToken?: string,
  ) {}

  async createJoinToken(principal: UserPrincipal, expiresInHours: number = 24): Promise<JoinTokenCreated> {
    if (!Number.isSafeInteger(expiresInHours) || expiresInHours < 1 || expiresInHours > 24 * 365) {
      throw badRequest('expiresInHours: must be an integer from 1 to 8760', [{ path: 'expiresInHours', message: 'must be an integer from 1 to 8760' }]);
    }
    const id = randomBytes(9).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(this.now().getTime() + expiresInHours * 3_600_000).toISOString();
    await this.store.auth.createJoinToken({ id, username: principal.username, hash: hashToken(secret), createdAt: this.now().toISOString(), expiresAt });
    return { token: `${JOIN_PREFIX}${id}.${secret}`, expiresAt, scope: principal.role === 'admin' ? 'shared' : 'private' };
  }

  /** Creates the Agent (or re-registers it for the same owner) and returns its credential. */
  async register(joinToken: string, name: string, labels: Record<string, string> = {}): Promise<{ name: string; token: string; owner?: string }> {
    const { owner, joinedBy } = await this.joinerOf(joinToken);
    const spec = { ...(owner ? { owner } : {}), ...(joinedBy ? { joinedBy } : {}) };
    const manifest = { apiVersion: 'lattice/v1', kind: 'Agent', metadata: { name, ...(Object.keys(labels).length ? { labels } : {}) }, spec };
    const result = validate(manifest);
    if (!result.ok) throw invalid(formatFieldErrors(result.errors), result.errors);
    const agent = result.value as Agent;
    await this.store.transact(async (tx) => {
      const existing = (await tx.find({ kind: 'Agent', name })) as Agent | undefined;
      if (!existing) return tx.create(agent);
      if (existing.spec.owner !== owner) throw new ApiError('Conflict', `agent name ${JSON.stringify(name)} is taken; choose another --name`);
      const { joinedBy: _previous, ...kept } = existing.spec;
      return tx.update({ ...existing, metadata: { ...existing.metadata, labels: agent.metadata.labels }, spec: { ...kept, ...(joinedBy ? { joinedBy } : {}) } });
    });
    return { ...(await this.rotate(name)), ...(owner ? { owner } : {}) };
  }

  /** A new credential for the agent; the one before it no longer authenticates. */
  async rotate(name: string): Promise<{ name: string; token: string }> {
    const secret = randomBytes(32).toString('base64url');
    await this.store.auth.setAgentCredential(name, hashToken(secret), this.now().toISOString());
    return { name, token: `${AGENT_PREFIX}${name}.${secret}` };
  }

  /**
   * Who a join token joins an agent for: a user's makes a private agent (owner), an admin's a
   * shared one; joinedBy is that user either way (absent for the configured token). 401 if the
   * token is not valid.
   */
  private async joinerOf(joinToken: string): Promise<{ owner?: string; joinedBy?: string }> {
    if (this.configuredJoinToken !== undefined && sameHash(hashToken(joinToken), hashToken(this.configuredJoinToken))) return {};
    const parsed = splitToken(joinToken, JOIN_PREFIX);
    const record = parsed && (await this.store.auth.findJoinToken(parsed.id));
    if (!parsed || !record || !sameHash(record.hash, hashToken(parsed.secret))) throw unauthorized('join token is not valid');
    if (Date.parse(record.expiresAt) <= this.now().getTime()) throw unauthorized('join token has expired; create a new one');
    const creator = await this.store.auth.findUser(record.username);
    if (!creator) throw unauthorized('the user who created this join token no longer exists');
    return creator.role === 'admin' ? { joinedBy: creator.username } : { owner: creator.username, joinedBy: creator.username };
  }

  /** The agent's name, or 401. */
  async authenticate(token: string): Promise<string> {
    const parsed = splitToken(token, AGENT_PREFIX);
    const hash = parsed && (await this.store.auth.agentCredentialHash(parsed.id));
    if (!parsed || !hash || !sameHash(hash, hashToken(parsed.secret))) throw unauthorized('agent credential is not valid; register the agent again with a join token');
    return parsed.id;
  }
}
