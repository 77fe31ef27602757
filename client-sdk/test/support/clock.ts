/**
 * A manual clock and timers for tests of the client: time moves only when the test says so, so
 * backoff delays and timeouts are checked exactly, never raced.
 */
type Timer = { id: number; atMs: number; callback: () => void };

export class ManualClock {
  nowMs: number;
  readonly #timers: Timer[] = [];
  #nextId = 1;
  /** Every delay passed to setTimeout, in order. */
  readonly delays: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  readonly now = (): number => this.nowMs;

  readonly setTimeout = (callback: () => void, delayMs: number): unknown => {
    const timer = { id: this.#nextId++, atMs: this.nowMs + Math.max(0, delayMs), callback };
    this.#timers.push(timer);
    this.delays.push(delayMs);
    return timer.id;
  };

  readonly clearTimeout = (handle: never): void => {
    const index = this.#timers.findIndex((timer) => timer.id === (handle as unknown as number));
    if (index >= 0) this.#timers.splice(index, 1);
  };

  /** Moves time forward by `ms`, running every timer that falls due (in order), with their follow-ups. */
  async advance(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    while (true) {
      this.#timers.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      const due = this.#timers[0];
      if (due === undefined || due.atMs > endMs) break;
      this.#timers.shift();
      this.nowMs = Math.max(this.nowMs, due.atMs);
      due.callback();
      await settle();
    }
    this.nowMs = endMs;
    await settle();
  }

  /** Delays (from now) of the timers still waiting. */
  pending(): number[] {
    return this.#timers.map((timer) => timer.atMs - this.nowMs).sort((a, b) => a - b);
  }
}

/** Lets promise chains and already-queued I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let index = 0; index < rounds; index += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A random source that returns the given values in turn (then repeats the last). */
export function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)]!;
}
