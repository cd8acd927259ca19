import { chmodSync, closeSync, fsync, mkdirSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery, type QueryResult, type SqliteDatabase } from 'kysely';
import type { Database } from '../db-schema.ts';
import { migrate } from '../migrations/index.ts';
import type { DialectAdapter } from './adapter.ts';
import type { Execute } from '../prepared-query.ts';

export interface SqliteOptions {
  file: string;
  /**
   * full (default): every commit is fsynced before it is acknowledged, so no acknowledged write
   * is lost even on power loss. normal: WAL is synced at checkpoints only; survives a process
   * crash but may lose the last commits on power loss.
   */
  synchronous?: 'full' | 'normal';
}

// better-sqlite3 gives each connection a large page cache, which the writer fills as the file
// grows: control plane memory for pages the kernel's page cache holds anyway. SQLite's own
// default costs no placements/s (figures: README, "Why the code is as it is").
const PAGE_CACHE_KIB = 2000;

// With synchronous=FULL SQLite fsyncs the WAL inside COMMIT, and better-sqlite3 runs COMMIT on
// the event loop: every request would wait out a disk flush, which on a busy disk takes
// milliseconds. So connections commit with NORMAL (the WAL is written to the OS, not synced) and,
// for full, every writer awaits afterCommit before it acknowledges a commit or shows it to a
// watcher: the WAL is fsynced from libuv's thread pool. The same guarantee, off the event loop.
// (A read on another connection may see a commit up to one fsync before it is acknowledged.)
function openConnection(file: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  return db;
}

const STATEMENT_CACHE_SIZE = 256;
const fsyncAsync = promisify(fsync);

// kysely prepares every query afresh, which costs more than running it; the store issues a
// handful of distinct statements, so caching them makes a write several times cheaper. The
// cache only ever fills with ad-hoc queries (e.g. list filters); then the oldest goes.
function withStatementCache(db: BetterSqlite3.Database): SqliteDatabase & { prepare(sql: string): BetterSqlite3.Statement } {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * The store's write transaction runs its statements here, on the connection kysely's transaction
 * holds: as kysely's SqliteConnection runs them, without the executor, the connection lock and
 * the promises in between (a quarter of a statement's time; README, "Why the code is as it is").
 */
function executeAtOnce(db: { prepare(sql: string): BetterSqlite3.Statement }): Execute {
  return <R>({ sql, parameters }: CompiledQuery): QueryResult<R> => {
    const statement = db.prepare(sql);
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  };
}

export async function openSqlite({ file, synchronous = 'full' }: SqliteOptions): Promise<DialectAdapter> {
  if (file === ':memory:') throw new Error('sqlite: use a file; readers and the writer need to share it');
  // The file holds password hashes and the JWT key: only this user may read it. SQLite gives its
  // -wal and -shm files the database file's permissions.
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const writerDatabase = withStatementCache(openConnection(file));
  const writer = new Kysely<Database>({ dialect: new SqliteDialect({ database: writerDatabase }) });
  const executeOnWriter = executeAtOnce(writerDatabase);
  const readRevision = writer.selectFrom('meta').select('value').where('key', '=', 'revision').compile();
  // The WAL exists from the first write on and stays the same file while connections are open.
  let walFd: number | undefined;
  const afterCommit = async () => {
    if (synchronous !== 'full') return;
    walFd ??= openSync(`${file}-wal`, 'r');
    await fsyncAsync(walFd);
  };
  await migrate(writer, { revisionType: 'integer' });
  await afterCommit();
  const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(openConnection(file)) }) });
  return {
    backend: 'sqlite',
    writer,
    reader,
    executeOnWriter,
    // 7 columns a change row; SQLite allows 32,766 bound parameters.
    maxRowsPerInsert: 1000,
    snapshot: (fn) => reader.transaction().execute(fn),
    // kysely gives SQLite one connection and runs one transaction on it at a time, so the
    // counter needs no lock of its own (and a no-op write would cost an fsync).
    lockRevision: async () => (await executeOnWriter<{ value: number }>(readRevision)).rows[0]!.value,
    // Only this process writes the file, so it announces commits to itself.
    announce: async () => {},
    afterCommit,
    listen: async () => async () => {},
    revoke: async () => {},
    isDriverError: (error) => error instanceof BetterSqlite3.SqliteError,
    isUniqueViolation: (error) => sqliteCode(error).startsWith('SQLITE_CONSTRAINT_PRIMARYKEY') || sqliteCode(error) === 'SQLITE_CONSTRAINT_UNIQUE',
    isContention: (error) => sqliteCode(error).startsWith('SQLITE_BUSY') || sqliteCode(error).startsWith('SQLITE_LOCKED'),
    close: async () => {
      if (walFd !== undefined) closeSync(walFd);
      walFd = undefined;
      await reader.destroy();
      await writer.destroy();
    },
  };
}

function sqliteCode(error: unknown): string {
  return error instanceof BetterSqlite3.SqliteError ? error.code : '';
}
