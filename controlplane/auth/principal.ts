// Who is calling. Users act in the namespaces they belong to; admins also see cluster-wide.
import type { Role } from '../../store/auth-store.ts';

export interface UserPrincipal {
  kind: 'user';
  username: string;
  role: Role;
  /** The namespaces the user belongs to; the first is its own (the default for apply). */
  namespaces: readonly string[];
  /** Set when authenticated by an access token (logout revokes this session). */
  sessionId?: string;
  /** Set when authenticated by an API token. */
  apiTokenId?: string;
}

export type Principal = UserPrincipal;

export function defaultNamespace(principal: Principal): string | undefined {
  return principal.namespaces[0];
}

export function canUseNamespace(principal: Principal, namespace: string): boolean {
  return principal.namespaces.includes(namespace);
}
