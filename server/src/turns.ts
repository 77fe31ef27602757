/**
 * Work that takes turns by key: for each key, one piece at a time, in the order asked, while other
 * keys run alongside. A piece that fails ends its turn like one that succeeds.
 *
 * The ledger's debits of one user take turns on a node (see `Ledger.debit`): a DJ's devices order
 * fresh frames at the same moment, and each debit holds a PostgreSQL client from `BEGIN` to
 * `COMMIT` while the account's lock makes the others wait, so the waiting belongs in memory, not
 * on the pool's clients that every other session needs.
 *
 * Bounded by the work in flight: a key is forgotten as soon as its last turn ends.
 */
export class Turns {
  /** For each key with work in flight, the end of its last turn (never rejected). */
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier turn of `key` has ended; answers what it answers. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key);
    const result = before === undefined ? new Promise<T>((resolve) => resolve(work())) : before.then(work);
    const tail = result.then(ended, ended);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with work in flight. */
  get size(): number {
    return this.#tails.size;
  }
}

function ended(): void {}
