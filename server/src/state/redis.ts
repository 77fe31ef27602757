/**
 * Redis session-state engine, for several server processes behind one load balancer. Keys are
 * namespaced by a prefix and all carry a TTL, so Redis holds nothing forever:
 *
 *   {prefix}s:{session}          hash    the session record (JSON in field `r`) and mix counters
 *   {prefix}seen:{scope}         zset    frame id → time seen; trimmed to the newest `max`
 *   {prefix}d:{session}:{req}    string  a decision, set with NX so the first writer wins
 *   {prefix}u:{user}:{day}       hash    what the user did that local day (frames, fresh, credits, sessions)
 *   {prefix}r:shown:{key}        string  a short record (a delivered frame's facts, a stock item)
 *   {prefix}r:shown:{key}:claim  string  its claim, set with NX for as long as the record has to live
 *   {prefix}bandit:segments      set     the bandit's known segments (bounded by the caller's max)
 *   {prefix}bandit:stats         hash    `{segment}|{arm}|n` pulls and `{segment}|{arm}|r` rewards
 *
 * Commands are auto-pipelined, and a write of several steps is one Lua script rather than a MULTI,
 * so the commands of all sessions issued in one tick share one socket write.
 */
import { Redis } from 'ioredis';
import type { FrameSource, Mix } from '@titrate/shared';
import { limits } from '../limits.js';
import { arms, emptySegment, type Arm, type SegmentStats } from '../bandit/policy.js';
import type { DayCounts } from '../titration/forecast.js';
import { seenInOrder, type SeenFrames } from '../pantry/seen.js';
import type { SessionRecord, SessionStateEngine, StoredValue } from './engine.js';

/** Bandit statistics live as long as a month of learning; a rebuild from the log restores them. */
const banditTtlMs = 35 * 24 * 3_600_000;

// Adds to one arm of a segment, registering the segment only while fewer than ARGV[2] are known.
const addArmOutcomeScript = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
  redis.call('SADD', KEYS[1], ARGV[1])
end
redis.call('HINCRBY', KEYS[2], ARGV[1] .. '|' .. ARGV[3] .. '|n', ARGV[4])
redis.call('HINCRBY', KEYS[2], ARGV[1] .. '|' .. ARGV[3] .. '|r', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1`;

// Each write below is one script, not a MULTI: a script is a single command, so auto-pipelining
// sends those of every session issued in one tick in one write (a MULTI is written on its own).

// Stores the session record (ARGV[1]) with a lifetime of ARGV[2] ms.
const putSessionScript = `
redis.call('HSET', KEYS[1], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Extends the lifetime of every key given by ARGV[1] ms (those that exist).
const touchScript = `
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[1]) end
return 1`;

// Counts one frame of source ARGV[1] into the session's mix; returns {fresh, library}.
const addToMixScript = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HMGET', KEYS[1], 'fresh', 'library')`;

// Marks frame ARGV[2] seen at time ARGV[1], keeps the newest ARGV[3], for ARGV[4] ms.
const markSeenScript = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

// Adds ARGV[2..5] to the day's frames, fresh, credits and sessions; returns the four counts.
const countDayScript = `
local fields = {'frames', 'fresh', 'credits', 'sessions'}
for index, field in ipairs(fields) do
  local delta = tonumber(ARGV[index + 1])
  if delta ~= 0 then redis.call('HINCRBY', KEYS[1], field, delta) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HMGET', KEYS[1], 'frames', 'fresh', 'credits', 'sessions')`;

/**
 * A record's Redis key. Records are the shown frames' (their ids are the keys callers give), and
 * `shown:` keeps the keys the same as when callers named the kind themselves, so records written
 * before still answer the beacons that come after.
 */
const recordKey = (key: string) => `r:shown:${key}`;

// Claims the record KEYS[1] by setting KEYS[2] with NX for the record's remaining lifetime: 1 when
// this call claimed it, 0 when it was claimed before or there is no record. A record without a
// lifetime (never written by putRecord) or in its last millisecond is not claimed: no claim key
// is ever left without a TTL.
const claimRecordScript = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
if redis.call('SET', KEYS[2], '1', 'PX', ttl, 'NX') then return 1 end
return 0`;

type WithScripts = Redis & {
  addArmOutcome(segments: string, stats: string, segment: string, max: number, arm: string, pulls: number, rewards: number, ttlMs: number): Promise<number>;
  putSessionScript(key: string, record: string, ttlMs: number): Promise<number>;
  touchScript(sessionKey: string, ttlMs: number): Promise<number>;
  addToMixScript(key: string, source: string, ttlMs: number): Promise<Array<string | null>>;
  markSeenScript(key: string, nowMs: number, frameId: string, max: number, ttlMs: number): Promise<number>;
  countDayScript(key: string, ttlMs: number, frames: number, fresh: number, credits: number, sessions: number): Promise<Array<string | null>>;
  claimRecordScript(record: string, claim: string): Promise<number>;
};

const dayFields = ['frames', 'fresh', 'credits', 'sessions'] as const;
const countsOf = (values: ReadonlyArray<string | null> | undefined): DayCounts => ({
  frames: Number(values?.[0] ?? 0), fresh: Number(values?.[1] ?? 0), credits: Number(values?.[2] ?? 0), sessions: Number(values?.[3] ?? 0),
});

export class RedisEngine implements SessionStateEngine {
  readonly kind = 'redis' as const;
  readonly #redis: WithScripts;
  readonly #now: () => number;

  constructor(url: string, options: { keyPrefix?: string; now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#redis = new Redis(url, {
      keyPrefix: options.keyPrefix ?? 'titrate:',
      commandTimeout: limits.stateCommandTimeoutMs,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      lazyConnect: false,
      // Commands issued in the same tick leave in one write: the sessions of a node share one
      // connection, so a busy node sends hundreds of commands per round trip instead of one.
      enableAutoPipelining: true,
    }) as WithScripts;
    this.#redis.defineCommand('addArmOutcome', { numberOfKeys: 2, lua: addArmOutcomeScript });
    this.#redis.defineCommand('putSessionScript', { numberOfKeys: 1, lua: putSessionScript });
    this.#redis.defineCommand('touchScript', { numberOfKeys: 1, lua: touchScript });
    this.#redis.defineCommand('addToMixScript', { numberOfKeys: 1, lua: addToMixScript });
    this.#redis.defineCommand('markSeenScript', { numberOfKeys: 1, lua: markSeenScript });
    this.#redis.defineCommand('countDayScript', { numberOfKeys: 1, lua: countDayScript });
    this.#redis.defineCommand('claimRecordScript', { numberOfKeys: 2, lua: claimRecordScript });
    // Connection errors surface on commands (and in readiness); the event must not crash us.
    this.#redis.on('error', () => undefined);
  }

  async putSession(record: SessionRecord, ttlMs: number): Promise<void> {
    await this.#redis.putSessionScript(`s:${record.id}`, JSON.stringify(record), ttlMs);
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    const raw = await this.#redis.hget(`s:${sessionId}`, 'r');
    return raw === null ? null : (JSON.parse(raw) as SessionRecord);
  }

  async touchSession(sessionId: string, ttlMs: number): Promise<void> {
    await this.#redis.touchScript(`s:${sessionId}`, ttlMs);
  }

  async addToMix(sessionId: string, source: FrameSource, ttlMs: number): Promise<Mix> {
    const [fresh, library] = await this.#redis.addToMixScript(`s:${sessionId}`, source, ttlMs);
    return { fresh: Number(fresh ?? 0), library: Number(library ?? 0) };
  }

  async getMix(sessionId: string): Promise<Mix> {
    const [fresh, library] = await this.#redis.hmget(`s:${sessionId}`, 'fresh', 'library');
    return { fresh: Number(fresh ?? 0), library: Number(library ?? 0) };
  }

  async markSeen(scope: string, frameId: string, max: number, ttlMs: number): Promise<void> {
    await this.#redis.markSeenScript(`seen:${scope}`, this.#now(), frameId, max, ttlMs);
  }

  async seenFrames(scope: string): Promise<SeenFrames> {
    return seenInOrder(await this.#redis.zrange(`seen:${scope}`, 0, -1));
  }

  async putDecisionIfAbsent(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<StoredValue> {
    const key = `d:${sessionId}:${requestId}`;
    const stored = await this.#redis.set(key, JSON.stringify(value), 'PX', ttlMs, 'NX');
    if (stored === 'OK') return value;
    const earlier = await this.#redis.get(key);
    return earlier === null ? value : (JSON.parse(earlier) as StoredValue);
  }

  async getDecision(sessionId: string, requestId: string): Promise<StoredValue | null> {
    const stored = await this.#redis.get(`d:${sessionId}:${requestId}`);
    return stored === null ? null : (JSON.parse(stored) as StoredValue);
  }

  async replaceDecision(sessionId: string, requestId: string, value: StoredValue, ttlMs: number): Promise<void> {
    await this.#redis.set(`d:${sessionId}:${requestId}`, JSON.stringify(value), 'PX', ttlMs);
  }

  async countDay(userId: string, dayKey: string, delta: Partial<DayCounts>, ttlMs: number): Promise<DayCounts> {
    const counts = await this.#redis.countDayScript(
      `u:${userId}:${dayKey}`, ttlMs, delta.frames ?? 0, delta.fresh ?? 0, delta.credits ?? 0, delta.sessions ?? 0,
    );
    return countsOf(counts);
  }

  async getDays(userId: string, dayKeys: readonly string[]): Promise<DayCounts[]> {
    // Issued together, the reads leave in one auto-pipelined write.
    const days = await Promise.all(dayKeys.map((dayKey) => this.#redis.hmget(`u:${userId}:${dayKey}`, ...dayFields)));
    return days.map(countsOf);
  }

  async putRecord(key: string, value: StoredValue, ttlMs: number): Promise<void> {
    await this.#redis.set(recordKey(key), JSON.stringify(value), 'PX', ttlMs);
  }

  async getRecord(key: string): Promise<StoredValue | null> {
    const stored = await this.#redis.get(recordKey(key));
    return stored === null ? null : (JSON.parse(stored) as StoredValue);
  }

  async claimRecord(key: string): Promise<boolean> {
    const record = recordKey(key);
    return (await this.#redis.claimRecordScript(record, `${record}:claim`)) === 1;
  }

  async addArmOutcome(segment: string, arm: Arm, pulls: number, rewards: number, segmentsMax: number): Promise<boolean> {
    return (await this.#redis.addArmOutcome('bandit:segments', 'bandit:stats', segment, segmentsMax, arm, pulls, rewards, banditTtlMs)) === 1;
  }

  async getSegments(): Promise<Map<string, SegmentStats>> {
    const fields = await this.#redis.hgetall('bandit:stats');
    const segments = new Map<string, SegmentStats>();
    for (const [field, value] of Object.entries(fields)) {
      // The segment itself contains '|': the arm and the counter are the last two parts.
      const counterAt = field.lastIndexOf('|');
      const armAt = field.lastIndexOf('|', counterAt - 1);
      const arm = field.slice(armAt + 1, counterAt) as Arm;
      if (armAt <= 0 || !arms.includes(arm)) continue;
      const segment = field.slice(0, armAt);
      const stats = segments.get(segment) ?? emptySegment();
      if (field.endsWith('|n')) stats[arm].pulls = Number(value);
      else stats[arm].rewards = Number(value);
      segments.set(segment, stats);
    }
    return segments;
  }

  async replaceSegments(segments: ReadonlyMap<string, SegmentStats>): Promise<void> {
    const multi = this.#redis.multi().del('bandit:segments', 'bandit:stats');
    if (segments.size > 0) {
      const fields: Record<string, number> = {};
      for (const [segment, stats] of segments) {
        for (const arm of arms) {
          fields[`${segment}|${arm}|n`] = stats[arm].pulls;
          fields[`${segment}|${arm}|r`] = stats[arm].rewards;
        }
      }
      multi.sadd('bandit:segments', ...segments.keys()).hset('bandit:stats', fields).pexpire('bandit:segments', banditTtlMs).pexpire('bandit:stats', banditTtlMs);
    }
    await multi.exec();
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
