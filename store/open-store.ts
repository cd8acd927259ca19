// Opens the store named by a URL: `sqlite:./path/to/file.db` or `postgres://user@host:port/db`.
import { openPostgres } from './dialects/postgres.ts';
import { openSqlite } from './dialects/sqlite.ts';
import { SqlStore, type SqlStoreOptions } from './sql-store.ts';
import type { ObjectStore } from './types.ts';

export interface OpenStoreOptions extends SqlStoreOptions {
  /** SQLite only: see SqliteOptions.synchronous. */
  sqliteSynchronous?: 'full' | 'normal';
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new Error('sqlite: store URL needs a file, e.g. sqlite:./.lattice/lattice.db');
    return SqlStore.open(await openSqlite({ file, synchronous: options.sqliteSynchronous }), options);
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return SqlStore.open(await openPostgres({ connectionString: url }), options);
  }
  throw new Error(`unsupported store URL ${JSON.stringify(url)}: use sqlite:./path/file.db or postgres://user@host:port/db`);
}
