// The control-plane replicas sharing the database, as each one last said (replicas table).
import type { DialectAdapter } from './dialects/adapter.ts';

export interface ReplicaRecord {
  id: string;
  /** Where the other replicas reach it (its --advertise-url). */
  url: string;
  startedAt: string;
  /** When it last said it is alive, ms since the epoch by its own clock. */
  heartbeatAt: number;
}

export interface ReplicaStore {
  /** Adds or refreshes this replica's row. */
  heartbeat(replica: ReplicaRecord): Promise<void>;
  list(): Promise<ReplicaRecord[]>;
  /** A replica's row goes as it stops (the others know at once it holds no agents any more), or long after it died. */
  remove(id: string): Promise<void>;
}

export class SqlReplicaStore implements ReplicaStore {
  constructor(private readonly adapter: DialectAdapter) {}

  async heartbeat({ id, url, startedAt, heartbeatAt }: ReplicaRecord): Promise<void> {
    await this.adapter.writer
      .insertInto('replicas')
      .values({ id, url, started_at: startedAt, heartbeat_at: heartbeatAt })
      .onConflict((oc) => oc.column('id').doUpdateSet({ url, heartbeat_at: heartbeatAt }))
      .execute();
    // No afterCommit: a heartbeat lost to a crash is as good as a late one.
  }

  async list(): Promise<ReplicaRecord[]> {
    const rows = await this.adapter.reader.selectFrom('replicas').selectAll().execute();
    return rows.map((r) => ({ id: r.id, url: r.url, startedAt: r.started_at, heartbeatAt: Number(r.heartbeat_at) }));
  }

  async remove(id: string): Promise<void> {
    await this.adapter.writer.deleteFrom('replicas').where('id', '=', id).execute();
  }
}
