// Token formats. Access tokens are short-lived HS256 JWTs; refresh and API tokens are opaque
// random strings stored as SHA-256, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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

export class AccessTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({ role: claims.role, ns: claims.namespaces, sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.username)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The claims, or a reason the token is refused. */
  async verify(token: string): Promise<AccessClaims | { refused: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      const { sub, role, ns, sid } = payload as { sub?: unknown; role?: unknown; ns?: unknown; sid?: unknown };
      if (typeof sub !== 'string' || (role !== 'admin' && role !== 'user') || !Array.isArray(ns) || typeof sid !== 'string') {
        return { refused: 'token claims are malformed' };
      }
      return { username: sub, role, namespaces: ns.map(String), sessionId: sid };
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
