/**
 * Beacons waiting for the server's ack.
 *
 * A beacon stays queued until an ack (ok or not) or an error naming it settles it; after a
 * reconnect every unsettled beacon is sent again with the same id, which the server counts once,
 * so a replay is harmless and nothing shown is lost to a dropped socket. The queue is bounded:
 * past `capacity` the oldest beacon is dropped and counted (an old dwell is worth less than a new
 * one, and a player offline for days must not grow without end).
 *
 * At most `inFlightMax` beacons await an ack at once, so a replay after a long outage trickles out
 * instead of flooding the server; a beacon unanswered after `ackTimeoutMs` stops holding its slot
 * (a server that does not ack beacons must not block the newer ones), and is sent again after
 * the next reconnect.
 */
import type { BeaconMessage } from './dwell.js';

type Entry = { beacon: BeaconMessage; sentAtMs: number | null };

export class BeaconQueue {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #inFlightMax: number;
  readonly #ackTimeoutMs: number;
  #dropped = 0;

  constructor(options: { capacity: number; inFlightMax: number; ackTimeoutMs: number }) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new Error('a beacon queue needs a capacity of at least 1');
    this.#capacity = options.capacity;
    this.#inFlightMax = options.inFlightMax;
    this.#ackTimeoutMs = options.ackTimeoutMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Beacons dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues a beacon; returns the oldest one if it had to be dropped to make room. */
  add(beacon: BeaconMessage): BeaconMessage | null {
    if (this.#entries.has(beacon.id)) throw new Error(`beacon id ${beacon.id} queued twice`);
    let dropped: BeaconMessage | null = null;
    if (this.#entries.size >= this.#capacity) {
      const [oldestId, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#entries.delete(oldestId);
      this.#dropped += 1;
      dropped = oldest.beacon;
    }
    this.#entries.set(beacon.id, { beacon, sentAtMs: null });
    return dropped;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Beacons sent and still within their ack window. */
  inFlight(nowMs: number): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (this.#holdsSlot(entry, nowMs)) count += 1;
    return count;
  }

  #holdsSlot(entry: Entry, nowMs: number): boolean {
    return entry.sentAtMs !== null && nowMs - entry.sentAtMs < this.#ackTimeoutMs;
  }

  /** The oldest beacon not yet sent on this connection, when a sending slot is free; else null. */
  nextToSend(nowMs: number): BeaconMessage | null {
    if (this.inFlight(nowMs) >= this.#inFlightMax) return null;
    for (const entry of this.#entries.values()) if (entry.sentAtMs === null) return entry.beacon;
    return null;
  }

  /** When the window is full: how long until a slot frees by timeout (null when none is held). */
  slotFreesInMs(nowMs: number): number | null {
    let soonest: number | null = null;
    for (const entry of this.#entries.values()) {
      if (!this.#holdsSlot(entry, nowMs)) continue;
      const remaining = entry.sentAtMs! + this.#ackTimeoutMs - nowMs;
      soonest = soonest === null ? remaining : Math.min(soonest, remaining);
    }
    return soonest;
  }

  markSent(id: string, nowMs: number): void {
    const entry = this.#entries.get(id);
    if (entry !== undefined) entry.sentAtMs = nowMs;
  }

  /** An ack or an error named this beacon: it is done. Returns it (null when it was not queued). */
  settle(id: string): BeaconMessage | null {
    const entry = this.#entries.get(id);
    if (entry === undefined) return null;
    this.#entries.delete(id);
    return entry.beacon;
  }

  /** The socket is gone: every unsettled beacon is sent again, with its id, on the next connection. */
  connectionLost(): void {
    for (const entry of this.#entries.values()) entry.sentAtMs = null;
  }

  /** Every queued beacon, oldest first. */
  list(): BeaconMessage[] {
    return [...this.#entries.values()].map((entry) => entry.beacon);
  }
}
