// Table shapes as kysely sees them. JSON is stored as text in both dialects: one code path,
// and PostgreSQL inserts text faster than jsonb.
export interface ObjectsTable {
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  uid: string;
  revision: number;
  body: string;
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

export interface Database {
  objects: ObjectsTable;
  changes: ChangesTable;
  spec_revisions: SpecRevisionsTable;
  meta: MetaTable;
}
