/**
 * The session-state engine: short-lived, per-session state that must be fast and may be shared
 * between server processes — the session record (for resume), the session's fresh/library mix,
 * the frames a scope has seen, decisions replayable by request id, what each delivered frame was
 * (for its beacon), and the bandit's per-segment statistics.
 *
 * Two implementations share this interface and one contract test: `MemoryEngine` (one process,
 * the default) and `RedisEngine` (several processes, `REDIS_URL`). Everything here is bounded
 * in size and in time; nothing here is money (credits live in PostgreSQL).
 */
import type { Context, FrameSource, Mix, Orientation } from '@titrate/shared';
import type { Arm, SegmentStats } from '../bandit/policy.js';
import type { SeenFrames } from '../pantry/seen.js';
import type { DayCounts } from '../titration/forecast.js';

export type SessionRecord = {
  id: string;
  userId: string;
  orientation: Orientation;
  context: Readonly<Context>;
  conserve: boolean;
  device: string | null;
};

/**
 * Freezes a record and its context in place and returns it. A frozen record can be shared (the
 * in-process engine keeps the very object instead of a copy); a change is a new record.
 */
export function freezeRecord(record: SessionRecord): SessionRecord {
  Object.freeze(record.context);
  return Object.freeze(record);
}

/**
 * A value an engine keeps (a decision for replays, a shown frame's record): a JSON object. The
 * in-process engine keeps the object itself, frozen all the way down (each is written once and
 * read back by a replay or a beacon, so neither a JSON text nor a copy is made for it); Redis
 * keeps its JSON.
 */
export type StoredValue = { readonly [key: string]: unknown };

export interface SessionStateEngine {
  readonly kind: 'memory' | 'redis';
  /** Stores (or replaces) a session record; it expires `ttlMs` after the last write or touch. */
  putSession(record: SessionRecord, ttlMs: number): Promise<void>;
  /** The stored record; it may be frozen (shared), so a change is always a new record. */
  getSession(sessionId: string): Promise<SessionRecord | null>;
  /**
   * Extends the session's lifetime (its record and mix) by `ttlMs`. Seen frames are the user's, not
   * the session's (`seenScope`), and live as long as each `markSeen` says.
   */
  touchSession(sessionId: string, ttlMs: number): Promise<void>;
  /** Counts one delivered frame into the session's mix and returns the new mix. */
  addToMix(sessionId: string, source: FrameSource, ttlMs: number): Promise<Mix>;
  getMix(sessionId: string): Promise<Mix>;
  /** Remembers that `scope` (a session, later a user) saw `frameId`; keeps the newest `max`. */
  markSeen(scope: string, frameId: string, max: number, ttlMs: number): Promise<void>;
  /**
   * The frames `scope` saw (at most the `max` given to `markSeen`), iterated oldest first. Not a
   * copy: the caller only reads it, and must not keep it past the decision it is for (another
   * device of the user may mark frames seen meanwhile; the decision then sees the newer set).
   */
  seenFrames(scope: string): Promise<SeenFrames>;
  /**
   * Stores `value` for (session, request id) unless one is stored already, and returns the value
   * that is stored now: `value` itself if we were first (the same object), the earlier one
   * otherwise. Atomic across processes.
   */
  putDecisionIfAbsent(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<StoredValue>;
  getDecision(sessionId: string, requestId: string): Promise<StoredValue | null>;
  /** Overwrites the decision for (session, request id): a pending answer that became final. */
  replaceDecision(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<void>;
  /**
   * Adds `delta` to what a user did on one local day (frames, fresh frames, credits, sessions),
   * atomically across processes, and returns the day's counts after it. The day expires `ttlMs`
   * after its last write: these counts are the titration controller's memory of demand.
   */
  countDay(userId: string, dayKey: string, delta: Partial<DayCounts>, ttlMs: number): Promise<DayCounts>;
  /** A user's counts for each of `dayKeys` (zeros for days without any), in the same order. */
  getDays(userId: string, dayKeys: readonly string[]): Promise<DayCounts[]>;
  /**
   * Stores a short record (a delivered frame's facts, a stock item) under `key` (its decision's or
   * item's id) for `ttlMs`. Records are of that one kind: the in-process engine keeps `key` itself
   * as its map's key, and Redis names the kind in its key (`r:shown:`).
   */
  putRecord(key: string, value: StoredValue, ttlMs: number): Promise<void>;
  /** The record under `key`; it may be frozen (shared), as a stored decision may. */
  getRecord(key: string): Promise<StoredValue | null>;
  /**
   * Claims the record under `key`: true for the first caller only (atomic across processes), false
   * once it was claimed or when no record is there. The claim lasts at least as long as the record
   * had left when it was claimed; a rewrite of the record within that time does not undo it.
   */
  claimRecord(key: string): Promise<boolean>;
  /**
   * Adds pulls and rewards to one arm of a bandit segment, atomically across processes. A segment
   * not yet known is only added while fewer than `segmentsMax` are: then it answers false.
   */
  addArmOutcome(segment: string, arm: Arm, pulls: number, rewards: number, segmentsMax: number): Promise<boolean>;
  /** Every bandit segment's statistics (at most `segmentsMax` of them). */
  getSegments(): Promise<Map<string, SegmentStats>>;
  /** Replaces all bandit statistics at once (a rebuild from the decision log). */
  replaceSegments(segments: ReadonlyMap<string, SegmentStats>): Promise<void>;
  /** Throws when the engine cannot be reached (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const emptyMix = (): Mix => ({ fresh: 0, library: 0 });

/**
 * The seen-set scope of a user in one library group (genre × mood): what they saw there on any
 * device, in any session. Per group, so that a bucket is exhausted before any of it is forgotten.
 */
export const seenScope = (userId: string, group: { genre: string; mood: string }): string => `u:${userId}:${group.genre}|${group.mood}`;
