/**
 * Reads that a caller waits for, made together: when many sessions open at once (a reconnect
 * storm, a node taking over another's players) each asks PostgreSQL for one row, and a pool of ten
 * clients turns two thousand asks into two hundred round trips in a row. Here the asks of a moment
 * share one query (`WHERE id = ANY($1)`), built on DataLoader:
 *
 * - a batch leaves at the end of the event loop's turn in which its first ask came, unless
 *   `inFlightMax` batches are already out: then it keeps gathering asks until one of those is back
 *   (or it is full), so the busier the database, the larger the batches and the fewer the trips;
 * - every ask gets its own read: nothing is cached or shared with an ask made earlier, so a caller
 *   never receives a row read before it asked (two asks for one key in one batch are one row);
 * - a failed query fails every ask of its batch, and only those.
 */
import DataLoader from 'dataloader';

export type BatchedReadBounds = { batchMax: number; inFlightMax: number };

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
          const found = await read([...new Set(keys)]);
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
