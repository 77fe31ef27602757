/**
 * The `next` requests in flight and the frames ready ahead of the player.
 *
 * A request lives from its creation until its `frame` (or an error) answers it:
 *   unsent   not on the wire yet (no connection, or waiting out a retry delay); sent when live.
 *   sent     on the wire, unanswered.
 *   pending  the server said a fresh frame is being generated; its `frame` follows.
 * When the socket drops, every sent or pending request goes back to unsent and is sent again on the
 * next connection with the same id: `next.id` is the server's idempotency key, so a replay returns
 * the decision already made (and its charge) instead of making a second one.
 *
 * Ready frames are handed out first come, first served: a library frame answered at once is shown
 * while a fresh one is still being generated, and the fresh one follows.
 *
 * After a context change, frames decided for the old genre/mood are no longer what the player wants.
 * Library frames that cost nothing are dropped (ready ones at once, in-flight ones when they
 * arrive); a fresh or charged frame is never dropped — it was paid for, so it is shown.
 */
import type { Context, FrameMessage } from '@titrate/shared';

export type RequestState = 'unsent' | 'sent' | 'pending';

export type FrameRequest = {
  id: string;
  state: RequestState;
  /** `genre|mood` of the context current when the request was made. */
  labels: string;
  /** The context changed since: a free library answer is dropped. */
  stale: boolean;
  sentAtMs: number | null;
  /** Not sent before this time (a retry after `rate_limited`, `overloaded` or `internal`). */
  notBeforeMs: number;
  etaMs: number | null;
  /** Times the server dropped it unread (`rate_limited`, `overloaded`, `internal`) and it was sent again. */
  retries: number;
};

export type ReadyFrame = { message: FrameMessage; labels: string };

export type AnswerResult = 'ready' | 'unwanted' | 'unknown';

/** The genre and mood of a context, as compared across a context change. */
export function labelsOf(context: Context): string {
  return `${context.genre.trim().toLowerCase()}|${context.mood.trim().toLowerCase()}`;
}

/** A frame that may be dropped unseen: a library frame that charged nothing. */
export function isDroppable(frame: FrameMessage): boolean {
  return frame.source === 'library' && frame.charged === 0;
}

export class PrefetchQueue {
  readonly #requests = new Map<string, FrameRequest>();
  readonly #ready: ReadyFrame[] = [];
  readonly #requestsMax: number;

  /** `requestsMax` bounds requests plus ready frames. */
  constructor(requestsMax: number) {
    if (!Number.isInteger(requestsMax) || requestsMax < 1) throw new Error('a prefetch queue needs room for at least one request');
    this.#requestsMax = requestsMax;
  }

  get outstanding(): number {
    return this.#requests.size;
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  /** Requests to add so that `prefetch` frames stay ahead of the `waiting` callers. */
  shortfall(prefetch: number, waiting: number): number {
    const wanted = Math.min(prefetch + waiting, this.#requestsMax);
    return Math.max(0, wanted - this.#requests.size - this.#ready.length);
  }

  add(id: string, labels: string, nowMs: number): FrameRequest {
    if (this.#requests.has(id)) throw new Error(`next id ${id} requested twice`);
    if (this.#requests.size + this.#ready.length >= this.#requestsMax) throw new Error('prefetch queue full');
    const request: FrameRequest = { id, state: 'unsent', labels, stale: false, sentAtMs: null, notBeforeMs: nowMs, etaMs: null, retries: 0 };
    this.#requests.set(id, request);
    return request;
  }

  get(id: string): FrameRequest | undefined {
    return this.#requests.get(id);
  }

  /** Requests to put on the wire now, oldest first. */
  toSend(nowMs: number): FrameRequest[] {
    return [...this.#requests.values()].filter((request) => request.state === 'unsent' && request.notBeforeMs <= nowMs);
  }

  /** How long until a delayed retry is due (null when none waits). */
  nextRetryInMs(nowMs: number): number | null {
    let soonest: number | null = null;
    for (const request of this.#requests.values()) {
      if (request.state !== 'unsent' || request.notBeforeMs <= nowMs) continue;
      const remaining = request.notBeforeMs - nowMs;
      soonest = soonest === null ? remaining : Math.min(soonest, remaining);
    }
    return soonest;
  }

  markSent(id: string, nowMs: number): void {
    const request = this.#requests.get(id);
    if (request === undefined) return;
    request.state = 'sent';
    request.sentAtMs = nowMs;
  }

  /** `pending`: a fresh frame is on its way. False when the request is not ours (any more). */
  markPending(id: string, etaMs: number): boolean {
    const request = this.#requests.get(id);
    if (request === undefined) return false;
    request.state = 'pending';
    request.etaMs = etaMs;
    return true;
  }

  /** A `frame` arrived: it answers its request and joins the ready frames, unless unwanted. */
  answer(frame: FrameMessage): AnswerResult {
    const request = this.#requests.get(frame.req);
    if (request === undefined) return 'unknown';
    this.#requests.delete(frame.req);
    if (request.stale && isDroppable(frame)) return 'unwanted';
    this.#ready.push({ message: frame, labels: request.labels });
    return 'ready';
  }

  /** An error answered the request: it is gone. */
  fail(id: string): FrameRequest | null {
    const request = this.#requests.get(id);
    if (request === undefined) return null;
    this.#requests.delete(id);
    return request;
  }

  /** The server dropped or could not process the request: send it again, same id, not before `notBeforeMs`. */
  retry(id: string, notBeforeMs: number): boolean {
    const request = this.#requests.get(id);
    if (request === undefined) return false;
    request.state = 'unsent';
    request.sentAtMs = null;
    request.notBeforeMs = notBeforeMs;
    request.retries += 1;
    return true;
  }

  /** The oldest ready frame, removed; null when none is ready. */
  take(): ReadyFrame | null {
    return this.#ready.shift() ?? null;
  }

  /** The socket is gone: everything unanswered is sent again on the next connection. */
  connectionLost(): void {
    for (const request of this.#requests.values()) {
      request.state = 'unsent';
      request.sentAtMs = null;
      request.notBeforeMs = 0;
    }
  }

  /**
   * The context changed to `labels`: drops ready frames of other labels that cost nothing, and marks
   * requests of other labels stale. Returns the dropped frames.
   */
  contextChanged(labels: string): FrameMessage[] {
    const dropped: FrameMessage[] = [];
    for (let index = this.#ready.length - 1; index >= 0; index -= 1) {
      const ready = this.#ready[index]!;
      if (ready.labels !== labels && isDroppable(ready.message)) {
        dropped.unshift(ready.message);
        this.#ready.splice(index, 1);
      }
    }
    for (const request of this.#requests.values()) request.stale = request.labels !== labels;
    return dropped;
  }

  /** Sent requests that got no answer at all (not even `pending`) within `timeoutMs`. */
  overdue(nowMs: number, timeoutMs: number): FrameRequest[] {
    return [...this.#requests.values()].filter((request) => request.state === 'sent' && nowMs - request.sentAtMs! >= timeoutMs);
  }

  /** When the oldest unanswered request becomes overdue (null when none is sent). */
  overdueInMs(nowMs: number, timeoutMs: number): number | null {
    let soonest: number | null = null;
    for (const request of this.#requests.values()) {
      if (request.state !== 'sent') continue;
      const remaining = Math.max(0, request.sentAtMs! + timeoutMs - nowMs);
      soonest = soonest === null ? remaining : Math.min(soonest, remaining);
    }
    return soonest;
  }

  clear(): void {
    this.#requests.clear();
    this.#ready.length = 0;
  }
}
