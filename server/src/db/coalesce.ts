/**
 * Reads asked for within a short window, made as one: background reads that nobody waits for
 * (credit views, inbox looks) are gathered per key for `windowMs` and handed to `run` in batches of
 * at most `batchMax`, so a node makes a few queries a second for them however many users play.
 * One item per key: a second ask for a key already waiting replaces the first.
 */
export type Scheduler = (run: () => void) => void;

/** The default scheduler: after `windowMs`, without keeping the process alive. */
export const after =
  (windowMs: number): Scheduler =>
  (run) =>
    void setTimeout(run, windowMs).unref();

export class Coalescer<Item> {
  readonly #run: (items: Item[]) => Promise<void>;
  readonly #batchMax: number;
  readonly #schedule: Scheduler;
  readonly #waiting = new Map<string, Item>();
  #scheduled = false;

  /** `run` must not throw: it answers its items' callers whatever happens. */
  constructor(run: (items: Item[]) => Promise<void>, options: { batchMax: number; schedule: Scheduler }) {
    this.#run = run;
    this.#batchMax = options.batchMax;
    this.#schedule = options.schedule;
  }

  add(key: string, item: Item): void {
    this.#waiting.set(key, item);
    this.#scheduleBatch();
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  /** A full batch leaves on the next turn of the event loop; anything less waits for the window. */
  #scheduleBatch(): void {
    if (this.#scheduled || this.#waiting.size === 0) return;
    this.#scheduled = true;
    const send = () => {
      this.#scheduled = false;
      const batch: Item[] = [];
      for (const [key, item] of this.#waiting) {
        if (batch.length >= this.#batchMax) break;
        batch.push(item);
        this.#waiting.delete(key);
      }
      this.#scheduleBatch();
      void this.#run(batch);
    };
    if (this.#waiting.size >= this.#batchMax) setImmediate(send);
    else this.#schedule(send);
  }
}
