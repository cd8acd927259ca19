// Token formats. Access tokens are short-lived HS256 JWTs; refresh and API tokens are opaque
// random strings stored as SHA-256, compared in constant time.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Role } from '../../store/auth-store.ts';

const ISSUER = 'lattice';
const REFRESH_PREFIX = 'lrt_';
const API_PREFIX = 'lat_';

export interface AccessClaims {
  username: string;
  role: Role;
  namespaces: string[];
  sessionId: string;
}

const VERIFIED_CACHE_SIZE = 10_000;

export class AccessTokens {
  // Imported once: handing jose raw bytes makes it import the key again on every verify.
  private readonly key: Promise<CryptoKey>;
  // A token is checked once, then its claims are remembered until it expires (HMAC is the
  // dearest step of an authenticated request). Keyed by the whole token: a different signature
  // is a different entry.
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAtMs: number }>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({ role: claims.role, ns: claims.namespaces, sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.username)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(await this.key);
  }

  /** The claims, or a reason the token is refused. */
  async verify(token: string): Promise<AccessClaims | { refused: string }> {
    const cached = this.verified.get(token);
    if (cached && cached.expiresAtMs > this.nowMs()) return cached.claims;
    if (cached) this.verified.delete(token);
    try {
      const { payload } = await jwtVerify(token, await this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      const { sub, role, ns, sid, exp } = payload as { sub?: unknown; role?: unknown; ns?: unknown; sid?: unknown; exp?: number };
      if (typeof sub !== 'string' || (role !== 'admin' && role !== 'user') || !Array.isArray(ns) || typeof sid !== 'string' || typeof exp !== 'number') {
        return { refused: 'token claims are malformed' };
      }
      const claims: AccessClaims = { username: sub, role, namespaces: ns.map(String), sessionId: sid };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { claims, expiresAtMs: exp * 1000 });
      return claims;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { refused: 'token has expired; refresh it or log in again' };
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) return { refused: 'token signature is invalid' };
      return { refused: 'token is malformed' };
    }
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }
}

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

const REPLICA_PREFIX = 'lrp_';

/**
 * What replicas present to each other's internal routes: derived from the access-token key every
 * replica of a cluster shares (in the database, or LATTICE_JWT_SECRET), so there is no second
 * secret to distribute, and it changes with that key.
 */
export function replicaCredential(accessTokenKey: string): string {
  return REPLICA_PREFIX + createHmac('sha256', accessTokenKey).update('lattice replica-to-replica requests').digest('base64url');
}

export function isReplicaCredential(value: string): boolean {
  return value.startsWith(REPLICA_PREFIX);
}

export function newRefreshToken(): string {
  return REFRESH_PREFIX + randomBytes(32).toString('base64url');
}

export function isRefreshToken(value: string): boolean {
  return value.startsWith(REFRESH_PREFIX);
}

/** `lat_<id>.<secret>`: the id finds the row, the secret proves possession. */
export function newApiToken(): { id: string; secret: string; token: string } {
  const id = randomBytes(9).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `${API_PREFIX}${id}.${secret}` };
}

export function parseApiToken(value: string): { id: string; secret: string } | undefined {
  if (!value.startsWith(API_PREFIX)) return undefined;
  const [id, secret, ...rest] = value.slice(API_PREFIX.length).split('.');
  return id && secret && rest.length === 0 ? { id, secret } : undefined;
}
