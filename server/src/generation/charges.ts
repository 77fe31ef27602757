/**
 * Group commit for fresh frames served from the prompt cache. A hit needs no generation, only the
 * debit, its generation row (ready and answered at once) and the idempotency outcome; under load
 * many users' hits are written by one `charge_cached_frames` statement, one round trip and one
 * commit for the batch (migrations 010–013: since 012 the hits of accounts named once in a batch
 * are decided and written together, a few statements for the whole batch, and every account's lock
 * is taken first, in one order, so concurrent batches cannot deadlock).
 *
 * Batches form by themselves: a charge asked for while `inFlightMax` batches are being written
 * waits for the next one, so a quiet server writes each hit at once and a busy one writes them
 * `batchMax` at a time. A hit whose request another generation already answers (the same `next` on
 * another socket of the session; migration 016) is answered `answered`, with nothing written.
 * Anything else but a new debit or a short balance (a replay, an account that needs its cycle
 * closed, a batch that failed and was rolled back whole) is answered `fallback`, and the caller
 * takes the ordinary path, which is idempotent on the same request.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { DebitCall } from '../ledger/ledger.js';
import type { NewGeneration } from './store.js';

export type CachedCharge = {
  debit: DebitCall;
  generation: NewGeneration & { userId: string };
  frameId: string;
};

export type CachedChargeResult =
  | { status: 'debited'; ledgerId: string | null; charged: number; balanceAfter: number | null }
  | { status: 'insufficient'; available: number }
  /** Another generation already answers this hit's (session, request): nothing was written for it. */
  | { status: 'answered' }
  | { status: 'fallback'; reason: string };

export type ChargeBounds = { batchMax: number; inFlightMax: number; queueMax: number };

type Waiting = { charge: CachedCharge; resolve: (result: CachedChargeResult) => void };
type Row = { item: number; status: string; ledgerId: string | null; charged: number; balanceAfter: number | null; available: number | null };

export class CachedCharges {
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #bounds: ChargeBounds;
  readonly #now: () => number;
  readonly #queue: Waiting[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Batch sizes written, for the metrics. */
  readonly #onBatch: (size: number) => void;

  constructor(services: { pool: pg.Pool; log: Logger; now?: () => number; onBatch?: (size: number) => void }, bounds: ChargeBounds) {
    this.#pool = services.pool;
    this.#log = services.log;
    this.#now = services.now ?? Date.now;
    this.#onBatch = services.onBatch ?? (() => undefined);
    this.#bounds = bounds;
  }

  charge(charge: CachedCharge): Promise<CachedChargeResult> {
    // A full queue is not an error: the ordinary path still works, one transaction per frame.
    if (this.#queue.length >= this.#bounds.queueMax) return Promise.resolve({ status: 'fallback', reason: 'queue full' });
    return new Promise((resolve) => {
      this.#queue.push({ charge, resolve });
      this.#schedule();
    });
  }

  /** Gathers what the current turn of the event loop asks for, then writes. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#bounds.inFlightMax && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#bounds.batchMax);
      this.#inFlight += 1;
      this.#write(batch).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
    }
  }

  async #write(batch: Waiting[]): Promise<void> {
    const items = batch.map(({ charge }) => ({
      user: charge.debit.userId, request: charge.debit.requestId, amount: charge.debit.amount, fingerprint: charge.debit.fingerprint,
      details: charge.debit.details, generation: charge.generation, frameId: charge.frameId,
    }));
    this.#onBatch(items.length);
    let rows: Row[];
    try {
      ({ rows } = await this.#pool.query<Row>({
        name: 'charge_cached_frames',
        text: `SELECT item, status, ledger_id::text AS "ledgerId", charged, balance_after AS "balanceAfter", available
               FROM charge_cached_frames($1::jsonb, to_timestamp($2::float8 / 1000))`,
        values: [JSON.stringify(items), this.#now()],
      }));
    } catch (error) {
      this.#log.warn({ err: error, size: items.length }, 'a batch of cached charges failed; each takes the ordinary path');
      for (const waiting of batch) waiting.resolve({ status: 'fallback', reason: 'batch failed' });
      return;
    }
    const byItem = new Map(rows.map((row) => [row.item, row]));
    batch.forEach((waiting, index) => waiting.resolve(resultOf(byItem.get(index))));
  }
}

function resultOf(row: Row | undefined): CachedChargeResult {
  if (row === undefined) return { status: 'fallback', reason: 'no answer' };
  if (row.status === 'debited') return { status: 'debited', ledgerId: row.ledgerId, charged: row.charged, balanceAfter: row.balanceAfter };
  if (row.status === 'insufficient') return { status: 'insufficient', available: row.available ?? 0 };
  if (row.status === 'answered') return { status: 'answered' };
  return { status: 'fallback', reason: row.status };
}
