// Opens the store named by a URL: `sqlite:./path/to/file.db` or `postgres://user@host:port/db`.
// Each dialect is loaded only when used: pg alone is a good part of a SQLite install's memory.
import { SqlStore, type SqlStoreOptions } from './sql-store.ts';
import type { ObjectStore } from './types.ts';

export interface OpenStoreOptions extends SqlStoreOptions {
  /** SQLite only: see SqliteOptions.synchronous. */
  sqliteSynchronous?: 'full' | 'normal';
}

export function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new Error('sqlite: store URL needs a file, e.g. sqlite:./.lattice/lattice.db');
    const { openSqlite } = await import('./dialects/sqlite.ts');
    return SqlStore.open(await openSqlite({ file, synchronous: options.sqliteSynchronous }), options);
  }
  if (isPostgresUrl(url)) {
    const { openPostgres } = await import('./dialects/postgres.ts');
    return SqlStore.open(await openPostgres({ connectionString: url }), options);
  }
  throw new Error(`unsupported store URL ${JSON.stringify(url)}: use sqlite:./path/file.db or postgres://user@host:port/db`);
}
