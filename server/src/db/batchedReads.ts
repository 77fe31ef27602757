/**
 * Reads that a caller waits for, made together: when many sessions open at once (a reconnect
 * storm, a node taking over another's players) each asks PostgreSQL for one row, and a pool of ten
 * clients turns two thousand asks into two hundred round trips in a row. Here the asks of a moment
 * share one query (`WHERE id = ANY($1)`), built on DataLoader:
 *
 * - a batch leaves in the check phase (`setImmediate`) of the event loop's turn in which its first
 *   ask came, unless `inFlightMax` batches are already out: then it keeps gathering asks until one
 *   of those is back (or it is full), so the busier the database, the larger the batches and the
 *   fewer the trips;
 * - every ask gets its own read: nothing is cached or shared with an ask made earlier, so a caller
 *   never receives a row read before it asked (two asks for one key in one batch are one row);
 * - a failed query fails every ask of its batch, and only those; so does one that has not answered
 *   within `timeoutMs` (a connection gone silent), whose place is then free for the next batch.
 */
import DataLoader from 'dataloader';

export type BatchedReadBounds = { batchMax: number; inFlightMax: number; timeoutMs: number };

export class BatchedReads<Key extends string, Value> {
  readonly #loader: DataLoader<Key, Value>;
  readonly #inFlightMax: number;
  #inFlight = 0;
  /** Batches gathered and ready to leave once a batch in flight is back, oldest first. */
  readonly #waiting: Array<() => void> = [];

  /**
   * `read` answers a batch of distinct keys with a map; a key missing from it reads as `absent`.
   */
  constructor(read: (keys: readonly Key[]) => Promise<ReadonlyMap<Key, Value>>, absent: Value, bounds: BatchedReadBounds) {
    this.#inFlightMax = bounds.inFlightMax;
    this.#loader = new DataLoader<Key, Value>(
      async (keys) => {
        try {
          const found = await withDeadline(read([...new Set(keys)]), bounds.timeoutMs);
          return keys.map((key) => (found.has(key) ? found.get(key)! : absent));
        } finally {
          this.#landed();
        }
      },
      { cache: false, maxBatchSize: bounds.batchMax, batchScheduleFn: (dispatch) => this.#whenFree(dispatch) },
    );
  }

  load(key: Key): Promise<Value> {
    return this.#loader.load(key);
  }

  #whenFree(dispatch: () => void): void {
    setImmediate(() => {
      if (this.#inFlight < this.#inFlightMax) this.#start(dispatch);
      else this.#waiting.push(dispatch);
    });
  }

  /** Counted here, not in the load function: with nothing cached a batch is never empty, so DataLoader always calls it. */
  #start(dispatch: () => void): void {
    this.#inFlight += 1;
    dispatch();
  }

  #landed(): void {
    this.#inFlight -= 1;
    const next = this.#waiting.shift();
    if (next !== undefined) this.#start(next);
  }
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a batched read did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
