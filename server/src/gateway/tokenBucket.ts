/**
 * A token bucket for one connection's message rate: `perSecond` tokens a second on average, bursts
 * up to `burst`. Pure arithmetic on an injected clock; no timers, so a million idle sockets cost nothing.
 *
 * The bucket is kept the way the generic cell rate algorithm keeps one: as a single time, when it
 * would be full again (each message taken moves it one interval later; a message is over the rate
 * when that time is more than `burst - 1` intervals ahead of now). So a bucket holds one small
 * whole number — milliseconds on the owner's clock, which an object holds in place — where tokens
 * and the time they were counted would be two, and a fraction of a token a heap number of its own.
 * The rule is one object shared by every bucket that follows it, handed to each `take` by the
 * bucket's owner (a connection is its own bucket, see the gateway).
 */
/** Messages `intervalMs` apart on average; `toleranceMs` is how far ahead of now a burst may run the bucket's time. */
export type BucketRule = { readonly intervalMs: number; readonly toleranceMs: number };

/** A rule of `perSecond` messages a second (a whole number of milliseconds apart) and bursts of `burst`. */
export function bucketRule(perSecond: number, burst: number): BucketRule {
  for (const [name, value] of [['perSecond', perSecond], ['burst', burst]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`a bucket's ${name} is a whole number of at least 1, not ${value}`);
  }
  if (1000 % perSecond !== 0) throw new RangeError(`a bucket's rate is a whole number of milliseconds apart (a divisor of 1000), not ${perSecond} a second`);
  const intervalMs = 1000 / perSecond;
  return Object.freeze({ intervalMs, toleranceMs: (burst - 1) * intervalMs });
}

export class TokenBucket {
  /** When the bucket would be full again; at or before now, it is full. */
  #fullAtMs: number;

  /** A full bucket; `nowMs`, here and in `take`, is a clock in whole milliseconds. */
  constructor(nowMs: number) {
    this.#fullAtMs = nowMs;
  }

  /** Takes one token if there is one; false means the message is over the rate. */
  take(rule: BucketRule, nowMs: number): boolean {
    // At most one interval past empty: a clock that stepped back leaves the bucket empty, never
    // owing for the time it went back (a wall clock corrected by an hour would refuse an hour).
    const fullAtMs = Math.min(this.#fullAtMs, nowMs + rule.toleranceMs + rule.intervalMs);
    if (fullAtMs - nowMs > rule.toleranceMs) {
      this.#fullAtMs = fullAtMs;
      return false;
    }
    this.#fullAtMs = Math.max(fullAtMs, nowMs) + rule.intervalMs;
    return true;
  }
}
