/**
 * The SDK's own send rate: a token bucket on the injected clock. The server drops messages over
 * 40/s (bursts of 60) with an `error rate_limited` that names no request, so the client stays well
 * under that and a dropped message never has to be guessed at.
 */
export class Pacer {
  #tokens: number;
  #updatedMs: number;
  readonly #ratePerMs: number;
  readonly #burst: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error('a pacer needs a positive rate and a burst of at least 1');
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedMs = nowMs;
  }

  #refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsedMs * this.#ratePerMs);
    this.#updatedMs = Math.max(this.#updatedMs, nowMs);
  }

  /** Takes one send; false means wait `waitMs` first. */
  take(nowMs: number): boolean {
    this.#refill(nowMs);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** How long until one send is allowed (0 when it is now). */
  waitMs(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#ratePerMs);
  }
}
