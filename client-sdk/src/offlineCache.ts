/**
 * Library frames kept, with their image bytes, to show while the connection is down.
 *
 * The server hands out unseen library frames of the current context (`stock`) without deciding or
 * counting anything; the client fetches each image and keeps it here. The cache is an LRU of at most
 * `capacity` frames: a frame the server offers again moves to the recent end, new frames go there
 * too, and when full the least recently offered frame is evicted — after a context change the new
 * context's frames push the old ones out. Offline, the most recent frame is taken first (the best
 * match for what is playing now).
 *
 * A frame is never shown twice: taking a frame removes it and remembers its ids, and a frame shown
 * live (a decision) is remembered too, so a later `stock` answer that still offers it (the server
 * learns what was shown offline only when its beacon syncs) is not cached again.
 */
import type { StockFrame } from '@titrate/shared';
import { BoundedSet } from './boundedSet.js';

export type CachedFrame = { stock: StockFrame; bytes: Uint8Array };

export class OfflineCache {
  /** By stock id, least recently offered first. */
  readonly #entries = new Map<string, CachedFrame>();
  readonly #used: BoundedSet;
  readonly #capacity: number;

  constructor(options: { capacity: number; usedRememberedMax: number }) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new Error('an offline cache needs a capacity of at least 1');
    this.#capacity = options.capacity;
    this.#used = new BoundedSet(options.usedRememberedMax);
  }

  get size(): number {
    return this.#entries.size;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Below half full: time to ask for more. */
  needsRefill(): boolean {
    return this.#entries.size < this.#capacity / 2;
  }

  /** Frames it takes to fill the cache. */
  missing(): number {
    return this.#capacity - this.#entries.size;
  }

  /**
   * Whether an offered frame is worth downloading: not shown before and not cached already. An
   * offer of a cached frame refreshes its place in the LRU order instead.
   */
  wants(stock: StockFrame): boolean {
    if (this.#used.has(stock.id) || this.#used.has(stock.frameId)) return false;
    const cached = this.#entries.get(stock.id);
    if (cached !== undefined) {
      this.#entries.delete(stock.id);
      this.#entries.set(stock.id, cached);
      return false;
    }
    for (const entry of this.#entries.values()) if (entry.stock.frameId === stock.frameId) return false;
    return true;
  }

  /** Stores a downloaded frame; returns the least recently offered one if it had to be evicted. */
  add(entry: CachedFrame): CachedFrame | null {
    if (!this.wants(entry.stock)) return null;
    let evicted: CachedFrame | null = null;
    if (this.#entries.size >= this.#capacity) {
      const [oldestId, oldest] = this.#entries.entries().next().value as [string, CachedFrame];
      this.#entries.delete(oldestId);
      evicted = oldest;
    }
    this.#entries.set(entry.stock.id, entry);
    return evicted;
  }

  /** The most recently offered frame, removed and remembered as shown; null when empty. */
  take(): CachedFrame | null {
    const last = [...this.#entries.keys()].at(-1);
    if (last === undefined) return null;
    const entry = this.#entries.get(last)!;
    this.#entries.delete(last);
    this.#used.add(entry.stock.id);
    this.#used.add(entry.stock.frameId);
    return entry;
  }

  /** A frame (`frameId`) was shown live: never offer it offline, and drop it if cached. */
  markShown(frameId: string): void {
    this.#used.add(frameId);
    for (const [stockId, entry] of this.#entries) if (entry.stock.frameId === frameId) this.#entries.delete(stockId);
  }

  /** The cached frames, least recently offered first (for inspection and tests). */
  list(): StockFrame[] {
    return [...this.#entries.values()].map((entry) => entry.stock);
  }
}
