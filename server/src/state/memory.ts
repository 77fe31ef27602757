/**
 * In-process session-state engine for a single node. Entries expire by time (swept periodically
 * and checked on read) and by count: past `memorySessionsMax` a session not used lately is evicted
 * (see below), and each session keeps at most `memoryDecisionsPerSessionMax` decisions.
 *
 * "Least recently used" is approximated the way a clock cache does it: a use marks the entry, and
 * an eviction that finds a marked entry first unmarks it and moves it to the back instead of
 * dropping it. A read costs one map lookup, where moving every used entry to the back of its map
 * would cost a delete and an insert in a map of every session on every call.
 */
import type { FrameSource, Mix } from '@titrate/shared';
import { emptySegment, type Arm, type SegmentStats } from '../bandit/policy.js';
import { limits } from '../limits.js';
import { nothingSeen, type SeenFrames } from '../pantry/seen.js';
import { emptyDay, type DayCounts } from '../titration/forecast.js';
import { emptyMix, freezeRecord, type SessionRecord, type SessionStateEngine, type StoredValue } from './engine.js';

type SessionEntry = {
  record: SessionRecord | null;
  /** Made on the first delivered frame, like `decisions`. */
  mix: Mix | null;
  /** Made on the first decision: an idle session has none. */
  decisions: Map<string, { value: StoredValue; expiresAtMs: number }> | null;
  expiresAtMs: number;
  /** Used since an eviction last passed it (see the top of the file). */
  used: boolean;
};
/** Frame id → its place in the order of seeing (`next` is the next place); oldest first. */
type SeenEntry = { frames: Map<string, number>; next: number; expiresAtMs: number; used: boolean };
type DayEntry = { counts: DayCounts; expiresAtMs: number; used: boolean };
/** A record, and whether it was claimed (a claim is a mark on its record, not an entry of its own). */
type RecordEntry = { value: StoredValue; expiresAtMs: number; claimed: boolean };

export class MemoryEngine implements SessionStateEngine {
  readonly kind = 'memory' as const;
  // Map iteration order is insertion order: the first entry is the oldest, and eviction starts there.
  readonly #sessions = new Map<string, SessionEntry>();
  readonly #seen = new Map<string, SeenEntry>();
  /** Per-user-day counts by `${user}|${day}`, oldest first (evicted like sessions). */
  readonly #days = new Map<string, DayEntry>();
  /**
   * Records by key (a claim is a mark on its record), least recently written first within each
   * shard. One map of every record (up to `memoryRecordsMax`, a record per frame shown) is slow
   * twice over once it is full: each write evicts the oldest record, and finding it walks past
   * every record evicted since the map last rehashed (a deleted entry keeps its slot until then);
   * and a rehash moves hundreds of thousands of entries at once. 1.2 million writes at a bound of
   * 500,000 took 164 s in one map (134 writes over 5 ms, the slowest 38 ms) and 6.5 s in 64
   * shards (4 over 5 ms). A shard is picked by the key's last characters and keeps its part of
   * the bound.
   */
  readonly #recordShards: Map<string, RecordEntry>[];
  readonly #recordsPerShard: number;
  readonly #segments = new Map<string, SegmentStats>();
  /**
   * Whole milliseconds since the engine started: every expiry here is one of these. Small whole
   * numbers are held in place, where epoch milliseconds would be a heap number in every entry. (A
   * difference of two epoch readings is itself a heap number until it is rounded, and one stored
   * heap number turns the field into one in every entry.)
   */
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;
  readonly #sessionsMax: number;
  readonly #seenScopesMax: number;

  constructor(options: { now?: () => number; sessionsMax?: number; seenScopesMax?: number; recordsMax?: number } = {}) {
    const clock = options.now ?? Date.now;
    const origin = clock();
    this.#now = () => Math.floor(clock() - origin);
    this.#sessionsMax = options.sessionsMax ?? limits.memorySessionsMax;
    this.#seenScopesMax = options.seenScopesMax ?? limits.memorySeenScopesMax;
    const recordsMax = options.recordsMax ?? limits.memoryRecordsMax;
    // A power of two, so the shard is a mask of the key's hash; one shard for a small bound.
    const shards = 2 ** Math.min(recordShardBitsMax, Math.max(0, Math.floor(Math.log2(recordsMax / recordsPerShardMin))));
    this.#recordShards = Array.from({ length: shards }, () => new Map<string, RecordEntry>());
    this.#recordsPerShard = Math.max(1, Math.floor(recordsMax / shards));
    this.#sweeper = setInterval(() => this.sweep(), limits.memorySweepIntervalMs);
    this.#sweeper.unref();
  }

  /** Drops every expired entry. */
  sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#sessions) if (entry.expiresAtMs <= now) this.#sessions.delete(id);
    for (const [scope, entry] of this.#seen) if (entry.expiresAtMs <= now) this.#seen.delete(scope);
    for (const [key, entry] of this.#days) if (entry.expiresAtMs <= now) this.#days.delete(key);
    for (const records of this.#recordShards) for (const [key, entry] of records) if (entry.expiresAtMs <= now) records.delete(key);
  }

  /** The shard of a record's key: its last two characters (a frame id's are random). */
  #recordsOf(key: string): Map<string, RecordEntry> {
    const shards = this.#recordShards;
    if (shards.length === 1) return shards[0]!;
    const last = key.length - 1;
    const hash = last < 0 ? 0 : key.charCodeAt(last) * 31 + (last > 0 ? key.charCodeAt(last - 1) : 0);
    return shards[hash & (shards.length - 1)]!;
  }

  #entry(sessionId: string, ttlMs: number | null): SessionEntry | null {
    const now = this.#now();
    let entry = this.#sessions.get(sessionId);
    if (entry !== undefined && entry.expiresAtMs <= now) {
      this.#sessions.delete(sessionId);
      entry = undefined;
    }
    if (entry === undefined) {
      if (ttlMs === null) return null;
      entry = { record: null, mix: null, decisions: null, expiresAtMs: now + ttlMs, used: false };
      makeRoom(this.#sessions, this.#sessionsMax);
      this.#sessions.set(sessionId, entry);
    } else {
      entry.used = true;
      if (ttlMs !== null) entry.expiresAtMs = now + ttlMs;
    }
    return entry;
  }

  async putSession(record: SessionRecord, ttlMs: number): Promise<void> {
    this.#entry(record.id, ttlMs)!.record = frozen(record);
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    return this.#entry(sessionId, null)?.record ?? null;
  }

  async touchSession(sessionId: string, ttlMs: number): Promise<void> {
    if (this.#entry(sessionId, null) !== null) this.#entry(sessionId, ttlMs);
    const seen = this.#seen.get(sessionId);
    if (seen !== undefined) seen.expiresAtMs = this.#now() + ttlMs;
  }

  async addToMix(sessionId: string, source: FrameSource, ttlMs: number): Promise<Mix> {
    const mix = (this.#entry(sessionId, ttlMs)!.mix ??= emptyMix());
    mix[source] += 1;
    return { ...mix };
  }

  async getMix(sessionId: string): Promise<Mix> {
    const mix = this.#entry(sessionId, null)?.mix;
    return mix === undefined || mix === null ? emptyMix() : { ...mix };
  }

  async markSeen(scope: string, frameId: string, max: number, ttlMs: number): Promise<void> {
    const now = this.#now();
    let entry = this.#seen.get(scope);
    if (entry === undefined || entry.expiresAtMs <= now) {
      if (entry !== undefined) this.#seen.delete(scope);
      entry = { frames: new Map(), next: 0, expiresAtMs: now + ttlMs, used: false };
      makeRoom(this.#seen, this.#seenScopesMax);
      this.#seen.set(scope, entry);
    } else {
      entry.used = true;
    }
    entry.expiresAtMs = now + ttlMs;
    entry.frames.delete(frameId);
    entry.frames.set(frameId, entry.next);
    entry.next += 1;
    while (entry.frames.size > max) {
      const oldest = entry.frames.keys().next();
      if (oldest.done === true) break;
      entry.frames.delete(oldest.value);
    }
  }

  async seenFrames(scope: string): Promise<SeenFrames> {
    const entry = this.#seen.get(scope);
    if (entry === undefined || entry.expiresAtMs <= this.#now()) return nothingSeen;
    return entry.frames;
  }

  async putDecisionIfAbsent(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<StoredValue> {
    const entry = this.#entry(sessionId, ttlMs)!;
    const decisions = (entry.decisions ??= new Map());
    const existing = decisions.get(requestId);
    if (existing !== undefined && existing.expiresAtMs > this.#now()) return existing.value;
    decisions.delete(requestId);
    decisions.set(requestId, { value: frozenDeep(value), expiresAtMs: this.#now() + ttlMs });
    evictOldest(decisions, limits.memoryDecisionsPerSessionMax);
    return value;
  }

  async getDecision(sessionId: string, requestId: string): Promise<StoredValue | null> {
    const decision = this.#entry(sessionId, null)?.decisions?.get(requestId);
    return decision !== undefined && decision.expiresAtMs > this.#now() ? decision.value : null;
  }

  async replaceDecision(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<void> {
    const entry = this.#entry(sessionId, ttlMs)!;
    const decisions = (entry.decisions ??= new Map());
    decisions.delete(requestId);
    decisions.set(requestId, { value: frozenDeep(value), expiresAtMs: this.#now() + ttlMs });
    evictOldest(decisions, limits.memoryDecisionsPerSessionMax);
  }

  async countDay(userId: string, dayKey: string, delta: Partial<DayCounts>, ttlMs: number): Promise<DayCounts> {
    const key = `${userId}|${dayKey}`;
    const now = this.#now();
    let entry = this.#days.get(key);
    if (entry === undefined || entry.expiresAtMs <= now) {
      if (entry !== undefined) this.#days.delete(key);
      entry = { counts: emptyDay(), expiresAtMs: 0, used: false };
      makeRoom(this.#days, limits.memoryUserDaysMax);
      this.#days.set(key, entry);
    } else {
      entry.used = true;
    }
    entry.expiresAtMs = now + ttlMs;
    entry.counts.frames += delta.frames ?? 0;
    entry.counts.fresh += delta.fresh ?? 0;
    entry.counts.credits += delta.credits ?? 0;
    entry.counts.sessions += delta.sessions ?? 0;
    return { ...entry.counts };
  }

  async getDays(userId: string, dayKeys: readonly string[]): Promise<DayCounts[]> {
    const now = this.#now();
    return dayKeys.map((dayKey) => {
      const entry = this.#days.get(`${userId}|${dayKey}`);
      return entry !== undefined && entry.expiresAtMs > now ? { ...entry.counts } : emptyDay();
    });
  }

  #liveRecord(key: string): RecordEntry | null {
    const entry = this.#recordsOf(key).get(key);
    return entry !== undefined && entry.expiresAtMs > this.#now() ? entry : null;
  }

  async putRecord(key: string, value: StoredValue, ttlMs: number): Promise<void> {
    const records = this.#recordsOf(key);
    const earlier = records.get(key);
    const claimed = earlier !== undefined && earlier.claimed && earlier.expiresAtMs > this.#now();
    if (earlier !== undefined) records.delete(key);
    records.set(key, { value: frozenDeep(value), expiresAtMs: this.#now() + ttlMs, claimed });
    evictOldest(records, this.#recordsPerShard);
  }

  async getRecord(key: string): Promise<StoredValue | null> {
    return this.#liveRecord(key)?.value ?? null;
  }

  async claimRecord(key: string): Promise<boolean> {
    const entry = this.#liveRecord(key);
    if (entry === null || entry.claimed) return false;
    entry.claimed = true;
    return true;
  }

  async addArmOutcome(segment: string, arm: Arm, pulls: number, rewards: number, segmentsMax: number): Promise<boolean> {
    let stats = this.#segments.get(segment);
    if (stats === undefined) {
      if (this.#segments.size >= segmentsMax) return false;
      stats = emptySegment();
      this.#segments.set(segment, stats);
    }
    stats[arm].pulls += pulls;
    stats[arm].rewards += rewards;
    return true;
  }

  async getSegments(): Promise<Map<string, SegmentStats>> {
    return new Map([...this.#segments].map(([segment, stats]) => [segment, structuredClone(stats)]));
  }

  async replaceSegments(segments: ReadonlyMap<string, SegmentStats>): Promise<void> {
    this.#segments.clear();
    for (const [segment, stats] of segments) this.#segments.set(segment, structuredClone(stats));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sessions.clear();
    this.#seen.clear();
    this.#days.clear();
    for (const records of this.#recordShards) records.clear();
    this.#segments.clear();
  }
}

/** Records are sharded once there are at least this many per shard, into at most 2^this shards. */
const recordsPerShardMin = 4_096;
const recordShardBitsMax = 6;

/**
 * A stored value is kept as the object itself, so it is frozen all the way down: a replay or a
 * beacon must see what was first written, as it would from Redis's JSON. (Objects and arrays
 * only: a stored value is JSON.)
 */
function frozenDeep<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // Walked in place, not through `Object.values`: a value is stored per decision and per frame.
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) frozenDeep(value[index]);
  } else {
    for (const key in value) if (Object.hasOwn(value, key)) frozenDeep((value as Record<string, unknown>)[key]);
  }
  return Object.freeze(value);
}

/** Drops the first (oldest) entries of `map` beyond `max`. */
function evictOldest<V>(map: Map<string, V>, max: number): void {
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
function makeRoom<V extends { used: boolean }>(map: Map<string, V>, max: number): void {
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

/**
 * The record as stored and handed out: frozen, so no caller's change can reach it. A record frozen
 * by its owner already (a live session's) is kept as it is rather than copied; it is then one
 * object for the session and the engine.
 */
function frozen(record: SessionRecord): Readonly<SessionRecord> {
  if (Object.isFrozen(record) && Object.isFrozen(record.context)) return record;
  return freezeRecord({ ...record, context: { ...record.context } });
}
