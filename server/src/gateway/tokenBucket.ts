/**
 * A token bucket for one connection's message rate: `perSecond` tokens a second on average, bursts
 * up to `burst`. Pure arithmetic on an injected clock; no timers, so a million idle sockets cost nothing.
 *
 * The rule is one object shared by every bucket that follows it, handed to each `take` by the
 * bucket's owner; a bucket holds only its tokens and the time it last counted them (a connection
 * is its own bucket, see the gateway). Both are small whole numbers, which an object holds in
 * place: tokens are counted in thousandths, and a whole millisecond at a whole number of tokens a
 * second adds a whole number of thousandths, where a fraction of a token would make the field a
 * heap number of its own in every bucket.
 */
export type BucketRule = { readonly perSecond: number; readonly burst: number };

export function bucketRule(perSecond: number, burst: number): BucketRule {
  for (const [name, value] of [['perSecond', perSecond], ['burst', burst]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`a bucket's ${name} is a whole number of at least 1, not ${value}`);
  }
  return Object.freeze({ perSecond, burst });
}

/** Thousandths of a token in one token. */
const whole = 1000;

export class TokenBucket {
  #thousandths: number;
  #updatedMs: number;

  /** `nowMs`, here and in `take`, is a clock in whole milliseconds. */
  constructor(rule: BucketRule, nowMs: number) {
    this.#thousandths = rule.burst * whole;
    this.#updatedMs = nowMs;
  }

  /** Takes one token if there is one; false means the message is over the rate. */
  take(rule: BucketRule, nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs);
    this.#thousandths = Math.min(rule.burst * whole, this.#thousandths + elapsedMs * rule.perSecond);
    this.#updatedMs = nowMs;
    if (this.#thousandths < whole) return false;
    this.#thousandths -= whole;
    return true;
  }
}
