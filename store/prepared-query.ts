// kysely builds and compiles every query afresh, which costs more than SQLite takes to run a
// small statement. The store's hot statements are built once per shape with placeholder
// arguments, compiled by the dialect in use, and then run with new arguments in the order the
// compiled SQL binds them. Statements stay written in kysely, so both dialects keep working.
import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { Database } from './db-schema.ts';

const PLACEHOLDER = '\u0000lattice-arg-';

interface Compiled {
  sql: string;
  /** For each bound parameter: the index of the argument it is, or a constant. */
  binds: ({ arg: number } | { value: unknown })[];
}

/** Runs one compiled statement: kysely's executeQuery, or a connection that runs it at once. */
export type Execute = <R>(query: CompiledQuery) => Promise<QueryResult<R>> | QueryResult<R>;

export class PreparedQuery {
  private compiled: Compiled | undefined;

  /** build receives placeholders to use where the arguments go; arity: how many there are. */
  constructor(
    private readonly arity: number,
    private readonly build: (db: Kysely<Database>, args: readonly string[]) => Compilable,
  ) {}

  /** The statement with these arguments, compiled for db's dialect. */
  bind(db: Kysely<Database>, args: readonly unknown[]): CompiledQuery {
    const compiled = (this.compiled ??= this.compile(db));
    return CompiledQuery.raw(compiled.sql, compiled.binds.map((bind) => ('arg' in bind ? args[bind.arg] : bind.value)));
  }

  run<R>(db: Kysely<Database>, args: readonly unknown[]): Promise<QueryResult<R>> {
    return db.executeQuery<R>(this.bind(db, args));
  }

  private compile(db: Kysely<Database>): Compiled {
    const placeholders = Array.from({ length: this.arity }, (_, i) => `${PLACEHOLDER}${i}`);
    const { sql, parameters } = this.build(db, placeholders).compile();
    return {
      sql,
      binds: parameters.map((p) => (typeof p === 'string' && p.startsWith(PLACEHOLDER) ? { arg: Number(p.slice(PLACEHOLDER.length)) } : { value: p })),
    };
  }
}

/**
 * Multi-row inserts. Rows go in chunks whose sizes are powers of two (the largest that fits,
 * then the rest), so that a dozen prepared shapes serve every row count.
 */
export class PreparedInsert<Row extends object> {
  private readonly bySize = new Map<number, PreparedQuery>();

  constructor(
    private readonly columns: readonly (keyof Row & string)[],
    private readonly build: (db: Kysely<Database>, rows: Record<string, string>[]) => Compilable,
  ) {}

  /** db compiles (its dialect), execute runs. */
  async run(db: Kysely<Database>, rows: readonly Row[], maxRows: number, execute: Execute): Promise<void> {
    for (let start = 0; start < rows.length; ) {
      const size = 2 ** Math.floor(Math.log2(Math.min(maxRows, rows.length - start)));
      await execute(this.query(db, size).bind(db, rows.slice(start, start + size).flatMap((row) => this.columns.map((c) => row[c]))));
      start += size;
    }
  }

  private query(db: Kysely<Database>, size: number): PreparedQuery {
    let query = this.bySize.get(size);
    if (!query) {
      const width = this.columns.length;
      query = new PreparedQuery(size * width, (_, args) =>
        this.build(db, Array.from({ length: size }, (_, r) => Object.fromEntries(this.columns.map((c, i) => [c, args[r * width + i]!])))),
      );
      this.bySize.set(size, query);
    }
    return query;
  }
}
