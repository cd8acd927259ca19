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

export class PreparedQuery {
  private compiled: Compiled | undefined;

  /** build receives placeholders to use where the arguments go; arity: how many there are. */
  constructor(
    private readonly arity: number,
    private readonly build: (db: Kysely<Database>, args: readonly string[]) => Compilable,
  ) {}

  run<R>(db: Kysely<Database>, args: readonly unknown[]): Promise<QueryResult<R>> {
    const compiled = (this.compiled ??= this.compile(db));
    const parameters = compiled.binds.map((bind) => ('arg' in bind ? args[bind.arg] : bind.value));
    return db.executeQuery<R>(CompiledQuery.raw(compiled.sql, parameters));
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

/** Multi-row inserts, one prepared shape per row count. */
export class PreparedInsert<Row extends object> {
  private readonly byCount = new Map<number, PreparedQuery>();

  constructor(
    private readonly columns: readonly (keyof Row & string)[],
    private readonly build: (db: Kysely<Database>, rows: Record<string, string>[]) => Compilable,
  ) {}

  run(db: Kysely<Database>, rows: readonly Row[]): Promise<QueryResult<unknown>> {
    let query = this.byCount.get(rows.length);
    if (!query) {
      const width = this.columns.length;
      query = new PreparedQuery(rows.length * width, (_, args) =>
        this.build(db, Array.from({ length: rows.length }, (_, r) => Object.fromEntries(this.columns.map((c, i) => [c, args[r * width + i]!])))),
      );
      if (this.byCount.size < 64) this.byCount.set(rows.length, query);
    }
    return query.run(db, rows.flatMap((row) => this.columns.map((c) => row[c])));
  }
}
