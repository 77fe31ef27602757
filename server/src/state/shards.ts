/**
 * The in-process engine's bounded maps, and how they make room.
 *
 * A map bounded by count is slow twice over once it is full, if it is one map: each insert evicts
 * its oldest entry, and finding that entry walks past every entry evicted since the map last
 * rehashed (a deleted entry keeps its slot until then); and a rehash moves every entry at once.
 * Past its bound, one map of 1,000,000 user-days took ~460 µs a write (the slowest 155 ms), one of
 * 200,000 seen sets ~100 µs and one of 100,000 sessions ~44 µs, against ~2 µs below the bound
 * (`npm run bench:engine` measures the engine's writes, and the eviction at the sessions' bound in
 * one map against shards). So each map is split into shards of 2,048–4,095 entries (up to 256
 * shards, so for bounds up to about a million), picked by a hash of the key, and each shard keeps
 * its part of the bound: a walk or a rehash is then a shard's. Shards fill unevenly, so evictions
 * begin a little before the whole map holds its bound (at ~96% with 32 shards).
 */
import { limits } from '../limits.js';

export class ShardedMap<V> {
  readonly #shards: Map<string, V>[];
  readonly #mask: number;
  /** Each shard's part of the bound. */
  readonly entriesPerShardMax: number;

  constructor(entriesMax: number) {
    if (!Number.isInteger(entriesMax) || entriesMax < 1) throw new Error(`a bounded map holds a whole number of entries, at least 1, not ${entriesMax}`);
    // A power of two, so the shard is a mask of the key's hash; one shard for a small bound.
    const bits = Math.min(limits.memoryShardBitsMax, Math.max(0, Math.floor(Math.log2(entriesMax / limits.memoryEntriesPerShardMin))));
    this.#shards = Array.from({ length: 2 ** bits }, () => new Map<string, V>());
    this.#mask = 2 ** bits - 1;
    this.entriesPerShardMax = Math.floor(entriesMax / 2 ** bits);
  }

  /** The shard that holds `key`. */
  of(key: string): Map<string, V> {
    return this.#mask === 0 ? this.#shards[0]! : this.#shards[hashOf(key) & this.#mask]!;
  }

  get(key: string): V | undefined {
    return this.of(key).get(key);
  }

  /** Every shard, for a sweep. */
  get shards(): readonly Map<string, V>[] {
    return this.#shards;
  }

  get size(): number {
    let size = 0;
    for (const shard of this.#shards) size += shard.size;
    return size;
  }

  clear(): void {
    for (const shard of this.#shards) shard.clear();
  }
}

/** A hash of the whole key: the keys' ends are not all random (a user-day's is the day). */
function hashOf(key: string): number {
  let hash = 0;
  for (let index = 0; index < key.length; index += 1) hash = (Math.imul(hash, 31) + key.charCodeAt(index)) | 0;
  return hash ^ (hash >>> 15);
}

/** Drops the first (oldest) entries of `map` beyond `max`. */
export function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) return;
    map.delete(oldest.value);
  }
}

/**
 * Makes room for one more entry within `max`, the way a clock cache does: an entry used since it
 * was last passed gets a second chance (unmarked, moved to the back), the first unused one goes.
 * Each entry is passed at most once per eviction before every mark is spent, so an eviction is
 * bounded by the map's size, and the entry about to be added is never the one evicted.
 */
export function makeRoom<V extends { used: boolean }>(map: Map<string, V>, max: number): void {
  let chances = map.size;
  while (map.size >= max && map.size > 0) {
    const first = map.entries().next();
    if (first.done === true) return;
    const [key, entry] = first.value;
    map.delete(key);
    if (entry.used && chances > 0) {
      chances -= 1;
      entry.used = false;
      map.set(key, entry);
    }
  }
}
