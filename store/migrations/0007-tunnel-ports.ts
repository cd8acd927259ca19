import type { Kysely, Migration } from 'kysely';

// The relay's public TCP ports, one per (instance, port name) that a workload exposes as a tunnel:
// kept here so an instance keeps its URL across agent reconnects and control-plane restarts, and
// so several replicas never hand out the same port.
export function tunnelPortsMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('tunnel_ports')
        .addColumn('port', 'integer', (c) => c.primaryKey())
        .addColumn('instance_uid', 'text', (c) => c.notNull())
        .addColumn('port_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('tunnel_ports_instance_port', ['instance_uid', 'port_name'])
        .execute();
    },
  };
}
