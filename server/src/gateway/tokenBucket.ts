/**
 * A token bucket for one connection's message rate: `ratePerSecond` on average, bursts up to
 * `burst`. Pure arithmetic on an injected clock; no timers, so a million idle sockets cost nothing.
 * The rule is one object shared by every bucket that follows it; a bucket holds only its tokens
 * and the time it last counted them (a connection is its own bucket, see the gateway).
 */
export type BucketRule = { readonly ratePerMs: number; readonly burst: number };

export function bucketRule(ratePerSecond: number, burst: number): BucketRule {
  return Object.freeze({ ratePerMs: ratePerSecond / 1000, burst });
}

export class TokenBucket {
  #tokens: number;
  #updatedMs: number;
  readonly #rule: BucketRule;

  constructor(rule: BucketRule, nowMs: number) {
    this.#rule = rule;
    this.#tokens = rule.burst;
    this.#updatedMs = nowMs;
  }

  /** Takes one token if there is one; false means the message is over the rate. */
  take(nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs);
    this.#tokens = Math.min(this.#rule.burst, this.#tokens + elapsedMs * this.#rule.ratePerMs);
    this.#updatedMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
