// Table shapes as kysely sees them. JSON is stored as text in both dialects: one code path,
// and PostgreSQL inserts text faster than jsonb.
export interface ObjectsTable {
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  uid: string;
  /** The object's current revision: its body is the change log row of that revision. */
  revision: number;
}

export interface ChangesTable {
  revision: number;
  kind: string;
  namespace: string;
  name: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: string;
  /** The labels before a MODIFIED that changed them, so label-selecting watches see objects leave. */
  prev_labels: string | null;
}

export interface SpecRevisionsTable {
  uid: string;
  generation: number;
  kind: string;
  namespace: string;
  name: string;
  revision: number;
  spec: string;
  created_at: string;
}

export interface MetaTable {
  key: 'revision' | 'compacted';
  value: number;
}

export interface UsersTable {
  username: string;
  password_hash: string;
  role: 'admin' | 'user';
  created_at: string;
}

export interface NamespaceMembersTable {
  namespace: string;
  username: string;
}

/** A login: the family of refresh tokens rotated from it, revoked together. */
export interface SessionsTable {
  id: string;
  username: string;
  created_at: string;
  revoked_at: string | null;
}

export interface RefreshTokensTable {
  /** SHA-256 of the opaque token: the token itself is never stored. */
  hash: string;
  session_id: string;
  expires_at: string;
  used_at: string | null;
}

export interface ApiTokensTable {
  id: string;
  username: string;
  name: string;
  hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface ServerKeysTable {
  name: string;
  value: string;
}

/** Lets an agent join in its creator's scope (a user's: private; an admin's: shared). */
export interface JoinTokensTable {
  id: string;
  username: string;
  hash: string;
  created_at: string;
  expires_at: string;
}

export interface AgentCredentialsTable {
  agent: string;
  hash: string;
  created_at: string;
}

export interface ReplicasTable {
  id: string;
  url: string;
  started_at: string;
  heartbeat_at: number;
}

export interface TunnelPortsTable {
  port: number;
  instance_uid: string;
  port_name: string;
  created_at: string;
}

export interface Database {
  objects: ObjectsTable;
  changes: ChangesTable;
  spec_revisions: SpecRevisionsTable;
  meta: MetaTable;
  users: UsersTable;
  namespace_members: NamespaceMembersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  api_tokens: ApiTokensTable;
  server_keys: ServerKeysTable;
  join_tokens: JoinTokensTable;
  agent_credentials: AgentCredentialsTable;
  replicas: ReplicasTable;
  tunnel_ports: TunnelPortsTable;
}
