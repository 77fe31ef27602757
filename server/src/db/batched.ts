/**
 * Evidence written in batches, off the hot path: the decision journal and the reward log.
 *
 * `record` turns an entry into its row (a short JSON text, so the work is spread over the entries
 * and a buffered row holds nothing else alive) and appends it to a buffer in memory. A full batch
 * starts a write at once, a timer writes what is left, and one write is in flight at a time; a
 * batch is one `INSERT … SELECT … FROM jsonb_array_elements($1) ON CONFLICT DO NOTHING` (the
 * rows as one JSON array), so a retried batch that had committed adds nothing. Everything
 * is bounded: beyond the buffer limit new entries are dropped, and a batch the database refuses is
 * retried once, at the next write, then dropped. An outage costs entries (counted), never memory
 * or latency.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Counter, Gauge } from 'prom-client';

export type BatchBounds = { batchMax: number; bufferMax: number; flushIntervalMs: number };

/** One column: its name and its PostgreSQL type. */
export type Column = readonly [column: string, type: string];

/**
 * An entry's row: one JSON value per column, in the columns' order (the compiler counts them): a
 * `timestamptz` as epoch milliseconds, a `jsonb` as the value itself, anything else as what its
 * text form casts from. null is SQL NULL.
 */
export type RowOf<Columns extends ReadonlyArray<Column>> = { -readonly [Index in keyof Columns]: unknown };

/** How column `index` of a row (`r`, a JSON array) becomes a value of the column's type. */
function columnValue(type: string, index: number): string {
  if (type === 'jsonb') return `NULLIF(r->${index}, 'null'::jsonb)`;
  if (type === 'timestamptz') return `to_timestamp((r->>${index})::float8 / 1000)`;
  return `(r->>${index})::${type}`;
}

export type BatchTable<Entry, Columns extends ReadonlyArray<Column> = ReadonlyArray<Column>> = {
  table: string;
  /** What an entry is called in logs ("decision", "reward"). */
  noun: string;
  columns: Columns;
  /**
   * The entry's row. One function of one shape per table, not a function per column: a row is
   * made for every decision and every beacon.
   */
  row: (entry: Entry) => RowOf<Columns>;
  /** Why an entry cannot be written, or null: one row the table refuses would sink its whole batch. */
  problem: (entry: Entry) => string | null;
  /** Labelled by result: written, dropped, invalid, failed. */
  counter: Pick<Counter<'result'>, 'inc'>;
  buffered: Pick<Gauge, 'set'>;
};

/** The statement of a table: the INSERT and its column values come from one list. */
export function insertStatement(spec: { table: string; columns: ReadonlyArray<Column> }): string {
  return `INSERT INTO ${spec.table} (${spec.columns.map(([column]) => column).join(', ')})
  SELECT ${spec.columns.map(([, type], index) => columnValue(type, index)).join(', ')}
  FROM jsonb_array_elements($1::jsonb) AS r
  ON CONFLICT DO NOTHING`;
}

export class BatchedInserts<Entry, Columns extends ReadonlyArray<Column> = ReadonlyArray<Column>> {
  protected readonly pool: pg.Pool;
  readonly #log: Logger;
  readonly #spec: BatchTable<Entry, Columns>;
  readonly #statement: string;
  readonly #bounds: BatchBounds;
  readonly #timer: NodeJS.Timeout;
  /** Rows waiting to be written: each a JSON array of the entry's column values. */
  readonly #buffer: string[] = [];
  /** A batch the database refused once; the next write tries it again, first. */
  #retry: string[] | null = null;
  #writing: Promise<void> | null = null;
  /**
   * The last write failed: until one succeeds, only the timer (or `flush`) starts writes, so an
   * outage costs one attempt per tick instead of a loop of them that would drop the buffer fast.
   */
  #backingOff = false;
  /** The buffer is full and entries are being dropped (logged once per episode, not per entry). */
  #dropping = false;
  #stopped = false;

  constructor(services: { pool: pg.Pool; log: Logger }, spec: BatchTable<Entry, Columns>, bounds: BatchBounds) {
    this.pool = services.pool;
    this.#log = services.log;
    this.#spec = spec;
    this.#statement = insertStatement(spec);
    this.#bounds = bounds;
    this.#timer = setInterval(() => {
      if (this.#buffer.length > 0 || this.#retry !== null) void this.#write();
    }, bounds.flushIntervalMs);
    // The timer alone must not keep a finished process alive; `stop` writes what is left.
    this.#timer.unref();
  }

  /** Queues an entry. Synchronous and never throws: when it cannot be kept it is dropped and counted. */
  record(entry: Entry): void {
    if (this.#stopped || this.#buffer.length >= this.#bounds.bufferMax) {
      this.#spec.counter.inc({ result: 'dropped' });
      if (!this.#dropping) this.#log.warn({ table: this.#spec.table, buffered: this.#buffer.length, stopped: this.#stopped }, `${this.#spec.table} is dropping entries`);
      this.#dropping = true;
      return;
    }
    const row = this.#rowOf(entry);
    if (typeof row !== 'string') {
      this.#spec.counter.inc({ result: 'invalid' });
      this.#log.error({ table: this.#spec.table, problem: row.problem }, `${this.#spec.noun} not written`);
      return;
    }
    this.#dropping = false;
    this.#buffer.push(row);
    this.#updateBuffered();
    if (this.#buffer.length >= this.#bounds.batchMax && !this.#backingOff) void this.#write();
  }

  /** The entry's row, or why it cannot be one. */
  #rowOf(entry: Entry): string | { problem: string } {
    const problem = this.#spec.problem(entry);
    if (problem !== null) return { problem };
    try {
      return JSON.stringify(this.#spec.row(entry));
    } catch (error) {
      return { problem: `its values are not JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** Writes everything buffered now, after the write in flight (the failures are counted, never thrown). */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
    await this.#write();
  }

  /** Stops the timer, writes what is buffered, and from then on drops (and counts) new entries. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopped = true;
    await this.flush();
    const lost = this.#buffer.length + (this.#retry?.length ?? 0);
    if (lost === 0) return;
    this.#buffer.length = 0;
    this.#retry = null;
    this.#updateBuffered();
    this.#spec.counter.inc({ result: 'dropped' }, lost);
    this.#log.warn({ table: this.#spec.table, entries: lost }, `${this.#spec.noun}s not written before stopping`);
  }

  /** Starts a write unless one is in flight, and returns the one in flight. */
  #write(): Promise<void> {
    this.#writing ??= this.#writeBuffered()
      .catch((error: unknown) => this.#log.error({ err: error, table: this.#spec.table }, 'batched write failed unexpectedly'))
      .finally(() => {
        this.#writing = null;
      });
    return this.#writing;
  }

  /**
   * The batch awaiting its retry, then what is buffered when the write starts, batch by batch.
   * Decisions recorded meanwhile wait for the next write, so a write always ends. The first
   * failure ends it too: the database is unwell, and the next write will try again.
   */
  async #writeBuffered(): Promise<void> {
    const retry = this.#retry;
    this.#retry = null;
    if (retry !== null && !(await this.#insert(retry))) {
      this.#spec.counter.inc({ result: 'dropped' }, retry.length);
      this.#log.warn({ table: this.#spec.table, entries: retry.length }, 'batch dropped after its retry failed');
      return;
    }
    let remaining = this.#buffer.length;
    while (remaining > 0) {
      const batch = this.#buffer.splice(0, Math.min(remaining, this.#bounds.batchMax));
      remaining -= batch.length;
      if (!(await this.#insert(batch))) {
        this.#retry = batch;
        this.#updateBuffered();
        return;
      }
    }
  }

  /** True when the batch is in the table; false, logged and counted, when the database refused it. */
  async #insert(batch: string[]): Promise<boolean> {
    this.#updateBuffered();
    try {
      // A named statement is parsed and planned once per connection.
      await this.pool.query({ name: `${this.#spec.table}_insert`, text: this.#statement, values: [`[${batch.join(',')}]`] });
      this.#spec.counter.inc({ result: 'written' }, batch.length);
      this.#backingOff = false;
      return true;
    } catch (error) {
      this.#spec.counter.inc({ result: 'failed' }, batch.length);
      this.#backingOff = true;
      this.#log.warn({ err: error, table: this.#spec.table, entries: batch.length }, 'batch not written');
      return false;
    }
  }

  #updateBuffered(): void {
    this.#spec.buffered.set(this.#buffer.length + (this.#retry?.length ?? 0));
  }
}
