// The backends the store conformance suite loops over: each hands out fresh, empty stores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenStoreOptions } from '../../store/open-store.ts';
import type { ObjectStore } from '../../store/types.ts';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from './postgres.ts';

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  /** Why this backend is skipped here, if it is. */
  skip: string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A URL naming a new, empty store. */
  freshUrl(): Promise<string>;
}

export function sqliteBackend(): StoreBackend {
  let dir = '';
  let files = 0;
  return {
    name: 'sqlite',
    skip: undefined,
    async start() {
      dir = mkdtempSync(join(tmpdir(), 'lattice-sqlite-'));
    },
    async stop() {
      rmSync(dir, { recursive: true, force: true });
    },
    async freshUrl() {
      return `sqlite:${join(dir, `store-${++files}.db`)}`;
    },
  };
}

export function postgresBackend(): StoreBackend {
  let server: PostgresServer | undefined;
  const skip = postgresUnavailableReason();
  if (skip) console.log(`# skipping PostgreSQL store tests: ${skip}`);
  return {
    name: 'postgres',
    skip,
    async start() {
      server = await startPostgres();
    },
    async stop() {
      await server?.stop();
    },
    freshUrl: () => server!.createDatabase(),
  };
}

export function allBackends(): StoreBackend[] {
  return [sqliteBackend(), postgresBackend()];
}

/** Opens a store and closes it when the test ends. */
export async function openForTest(t: { after(fn: () => Promise<void>): void }, url: string, options?: OpenStoreOptions): Promise<ObjectStore> {
  const store = await openStore(url, options);
  t.after(() => store.close());
  return store;
}
