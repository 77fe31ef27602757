/**
 * In-process session-state engine for a single node. Entries expire by time (swept periodically
 * and checked on read) and by count: past `memorySessionsMax` a session not used lately is evicted
 * (see below), and each session keeps at most `memoryDecisionsPerSessionMax` decisions.
 *
 * "Least recently used" is approximated the way a clock cache does it: a use marks the entry, and
 * an eviction that finds a marked entry first unmarks it and moves it to the back instead of
 * dropping it. A read costs one map lookup, where moving every used entry to the back of its map
 * would cost a delete and an insert in a map of every session on every call. The maps of every
 * session, seen set, user-day and record are split into shards (`shards.ts`): one full map of
 * hundreds of thousands of entries is slow to evict from.
 */
import type { FrameSource, Mix } from '@titrate/shared';
import { emptySegment, type Arm, type SegmentStats } from '../bandit/policy.js';
import { limits } from '../limits.js';
import { nothingSeen, type SeenFrames } from '../pantry/seen.js';
import { emptyDay, type DayCounts } from '../titration/forecast.js';
import { emptyMix, freezeRecord, type SessionRecord, type SessionStateEngine, type StoredValue } from './engine.js';
import { evictOldest, makeRoom, ShardedMap } from './shards.js';

type SessionEntry = {
  record: SessionRecord | null;
  /** Made on the first decision or delivered frame: an idle session has none. */
  play: SessionPlay | null;
  expiresAtMs: number;
  /** Used since an eviction last passed it (see the top of the file). */
  used: boolean;
};
/** A playing session's mix (its two counts) and its decisions by request id (made on the first). */
type SessionPlay = Mix & { decisions: Map<string, { value: StoredValue; expiresAtMs: number }> | null };
/** Frame id → its place in the order of seeing (`next` is the next place); oldest first. */
type SeenEntry = { frames: Map<string, number>; next: number; expiresAtMs: number; used: boolean };
type DayEntry = { counts: DayCounts; expiresAtMs: number; used: boolean };
/** A record, and whether it was claimed (a claim is a mark on its record, not an entry of its own). */
type RecordEntry = { value: StoredValue; expiresAtMs: number; claimed: boolean };

export class MemoryEngine implements SessionStateEngine {
  readonly kind = 'memory' as const;
  // Map iteration order is insertion order: the first entry of a shard is its oldest, and eviction starts there.
  readonly #sessions: ShardedMap<SessionEntry>;
  readonly #seen: ShardedMap<SeenEntry>;
  /** Per-user-day counts by `${user}|${day}` (evicted like sessions). */
  readonly #days: ShardedMap<DayEntry>;
  /** Records by key (a claim is a mark on its record), least recently written first. */
  readonly #records: ShardedMap<RecordEntry>;
  readonly #segments = new Map<string, SegmentStats>();
  /**
   * Whole milliseconds since the engine started: every expiry here is one of these. Small whole
   * numbers are held in place, where epoch milliseconds would be a heap number in every entry. (A
   * difference of two epoch readings is itself a heap number until it is rounded, and one stored
   * heap number turns the field into one in every entry.)
   */
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { now?: () => number; sessionsMax?: number; seenScopesMax?: number; userDaysMax?: number; recordsMax?: number } = {}) {
    const clock = options.now ?? Date.now;
    const origin = clock();
    this.#now = () => Math.floor(clock() - origin);
    this.#sessions = new ShardedMap(options.sessionsMax ?? limits.memorySessionsMax);
    this.#seen = new ShardedMap(options.seenScopesMax ?? limits.memorySeenScopesMax);
    this.#days = new ShardedMap(options.userDaysMax ?? limits.memoryUserDaysMax);
    this.#records = new ShardedMap(options.recordsMax ?? limits.memoryRecordsMax);
    this.#sweeper = setInterval(() => this.sweep(), limits.memorySweepIntervalMs);
    this.#sweeper.unref();
  }

  /** Drops every expired entry. */
  sweep(): void {
    const now = this.#now();
    for (const map of [this.#sessions, this.#seen, this.#days, this.#records]) {
      for (const shard of map.shards) for (const [key, entry] of shard) if (entry.expiresAtMs <= now) shard.delete(key);
    }
  }

  #entry(sessionId: string, ttlMs: number | null): SessionEntry | null {
    const now = this.#now();
    const sessions = this.#sessions.of(sessionId);
    let entry = sessions.get(sessionId);
    if (entry !== undefined && entry.expiresAtMs <= now) {
      sessions.delete(sessionId);
      entry = undefined;
    }
    if (entry === undefined) {
      if (ttlMs === null) return null;
      entry = { record: null, play: null, expiresAtMs: now + ttlMs, used: false };
      makeRoom(sessions, this.#sessions.entriesPerShardMax);
      sessions.set(sessionId, entry);
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
  }

  async addToMix(sessionId: string, source: FrameSource, ttlMs: number): Promise<Mix> {
    const play = playOf(this.#entry(sessionId, ttlMs)!);
    play[source] += 1;
    return { fresh: play.fresh, library: play.library };
  }

  async getMix(sessionId: string): Promise<Mix> {
    const play = this.#entry(sessionId, null)?.play;
    return play === undefined || play === null ? emptyMix() : { fresh: play.fresh, library: play.library };
  }

  async markSeen(scope: string, frameId: string, max: number, ttlMs: number): Promise<void> {
    const now = this.#now();
    const seen = this.#seen.of(scope);
    let entry = seen.get(scope);
    if (entry === undefined || entry.expiresAtMs <= now) {
      if (entry !== undefined) seen.delete(scope);
      entry = { frames: new Map(), next: 0, expiresAtMs: now + ttlMs, used: false };
      makeRoom(seen, this.#seen.entriesPerShardMax);
      seen.set(scope, entry);
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
    const decisions = (playOf(entry).decisions ??= new Map());
    const existing = decisions.get(requestId);
    if (existing !== undefined && existing.expiresAtMs > this.#now()) return existing.value;
    decisions.delete(requestId);
    decisions.set(requestId, { value: frozenDeep(value), expiresAtMs: this.#now() + ttlMs });
    evictOldest(decisions, limits.memoryDecisionsPerSessionMax);
    return value;
  }

  async getDecision(sessionId: string, requestId: string): Promise<StoredValue | null> {
    const decision = this.#entry(sessionId, null)?.play?.decisions?.get(requestId);
    return decision !== undefined && decision.expiresAtMs > this.#now() ? decision.value : null;
  }

  async replaceDecision(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<void> {
    const entry = this.#entry(sessionId, ttlMs)!;
    const decisions = (playOf(entry).decisions ??= new Map());
    decisions.delete(requestId);
    decisions.set(requestId, { value: frozenDeep(value), expiresAtMs: this.#now() + ttlMs });
    evictOldest(decisions, limits.memoryDecisionsPerSessionMax);
  }

  async countDay(userId: string, dayKey: string, delta: Partial<DayCounts>, ttlMs: number): Promise<DayCounts> {
    const key = `${userId}|${dayKey}`;
    const now = this.#now();
    const days = this.#days.of(key);
    let entry = days.get(key);
    if (entry === undefined || entry.expiresAtMs <= now) {
      if (entry !== undefined) days.delete(key);
      entry = { counts: emptyDay(), expiresAtMs: 0, used: false };
      makeRoom(days, this.#days.entriesPerShardMax);
      days.set(key, entry);
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
    const entry = this.#records.get(key);
    return entry !== undefined && entry.expiresAtMs > this.#now() ? entry : null;
  }

  async putRecord(key: string, value: StoredValue, ttlMs: number): Promise<void> {
    const records = this.#records.of(key);
    const earlier = records.get(key);
    const claimed = earlier !== undefined && earlier.claimed && earlier.expiresAtMs > this.#now();
    if (earlier !== undefined) records.delete(key);
    records.set(key, { value: frozenDeep(value), expiresAtMs: this.#now() + ttlMs, claimed });
    evictOldest(records, this.#records.entriesPerShardMax);
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
    this.#records.clear();
    this.#segments.clear();
  }
}

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

/**
 * The record as stored and handed out: frozen, so no caller's change can reach it. A record frozen
 * by its owner already (a live session's) is kept as it is rather than copied; it is then one
 * object for the session and the engine.
 */
function frozen(record: SessionRecord): Readonly<SessionRecord> {
  if (Object.isFrozen(record) && Object.isFrozen(record.context)) return record;
  return freezeRecord({ ...record, context: { ...record.context } });
}

function playOf(entry: SessionEntry): SessionPlay {
  return (entry.play ??= { fresh: 0, library: 0, decisions: null });
}
