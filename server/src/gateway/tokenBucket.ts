/**
 * A token bucket for one connection's message rate: `ratePerSecond` on average, bursts up to
 * `burst`. Pure arithmetic on an injected clock; no timers, so a million idle sockets cost nothing.
 */
export class TokenBucket {
  #tokens: number;
  #updatedMs: number;
  readonly #ratePerMs: number;
  readonly #burst: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedMs = nowMs;
  }

  /** Takes one token if there is one; false means the message is over the rate. */
  take(nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsedMs * this.#ratePerMs);
    this.#updatedMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
