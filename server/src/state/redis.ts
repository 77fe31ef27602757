/**
 * Redis session-state engine, for several server processes behind one load balancer. Keys are
 * namespaced by a prefix and all carry a TTL, so Redis holds nothing forever:
 *
 *   {prefix}s:{session}          hash    the session record (JSON in field `r`) and mix counters
 *   {prefix}seen:{scope}         zset    frame id → time seen; trimmed to the newest `max`
 *   {prefix}d:{session}:{req}    string  a decision, set with NX so the first writer wins
 *   {prefix}u:{user}:{day}       hash    what the user did that local day (frames, fresh, credits, sessions)
 *   {prefix}r:{key}              string  a short record (a delivered frame's facts, a stock item, a claim)
 *   {prefix}bandit:segments      set     the bandit's known segments (bounded by the caller's max)
 *   {prefix}bandit:stats         hash    `{segment}|{arm}|n` pulls and `{segment}|{arm}|r` rewards
 */
import { Redis } from 'ioredis';
import type { FrameSource, Mix } from '@titrate/shared';
import { limits } from '../limits.js';
import { arms, emptySegment, type Arm, type SegmentStats } from '../bandit/policy.js';
import type { DayCounts } from '../titration/forecast.js';
import type { SessionRecord, SessionStateEngine } from './engine.js';

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

type WithScripts = Redis & {
  addArmOutcome(segments: string, stats: string, segment: string, max: number, arm: string, pulls: number, rewards: number, ttlMs: number): Promise<number>;
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
    }) as WithScripts;
    this.#redis.defineCommand('addArmOutcome', { numberOfKeys: 2, lua: addArmOutcomeScript });
    // Connection errors surface on commands (and in readiness); the event must not crash us.
    this.#redis.on('error', () => undefined);
  }

  async putSession(record: SessionRecord, ttlMs: number): Promise<void> {
    const key = `s:${record.id}`;
    await this.#redis.multi().hset(key, 'r', JSON.stringify(record)).pexpire(key, ttlMs).exec();
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    const raw = await this.#redis.hget(`s:${sessionId}`, 'r');
    return raw === null ? null : (JSON.parse(raw) as SessionRecord);
  }

  async touchSession(sessionId: string, ttlMs: number): Promise<void> {
    await this.#redis.multi().pexpire(`s:${sessionId}`, ttlMs).pexpire(`seen:${sessionId}`, ttlMs).exec();
  }

  async addToMix(sessionId: string, source: FrameSource, ttlMs: number): Promise<Mix> {
    const key = `s:${sessionId}`;
    const results = await this.#redis.multi().hincrby(key, source, 1).pexpire(key, ttlMs).hmget(key, 'fresh', 'library').exec();
    const counts = results?.[2]?.[1] as Array<string | null> | undefined;
    return { fresh: Number(counts?.[0] ?? 0), library: Number(counts?.[1] ?? 0) };
  }

  async getMix(sessionId: string): Promise<Mix> {
    const [fresh, library] = await this.#redis.hmget(`s:${sessionId}`, 'fresh', 'library');
    return { fresh: Number(fresh ?? 0), library: Number(library ?? 0) };
  }

  async markSeen(scope: string, frameId: string, max: number, ttlMs: number): Promise<void> {
    const key = `seen:${scope}`;
    await this.#redis
      .multi()
      .zadd(key, this.#now(), frameId)
      .zremrangebyrank(key, 0, -(max + 1))
      .pexpire(key, ttlMs)
      .exec();
  }

  async listSeen(scope: string): Promise<string[]> {
    return this.#redis.zrange(`seen:${scope}`, 0, -1);
  }

  async putDecisionIfAbsent(sessionId: string, requestId: string, value: string, ttlMs: number): Promise<string> {
    const key = `d:${sessionId}:${requestId}`;
    const stored = await this.#redis.set(key, value, 'PX', ttlMs, 'NX');
    if (stored === 'OK') return value;
    return (await this.#redis.get(key)) ?? value;
  }

  async getDecision(sessionId: string, requestId: string): Promise<string | null> {
    return this.#redis.get(`d:${sessionId}:${requestId}`);
  }

  async replaceDecision(sessionId: string, requestId: string, value: string, ttlMs: number): Promise<void> {
    await this.#redis.set(`d:${sessionId}:${requestId}`, value, 'PX', ttlMs);
  }

  async countDay(userId: string, dayKey: string, delta: Partial<DayCounts>, ttlMs: number): Promise<DayCounts> {
    const key = `u:${userId}:${dayKey}`;
    const multi = this.#redis.multi();
    for (const field of dayFields) if ((delta[field] ?? 0) !== 0) multi.hincrby(key, field, delta[field]!);
    const results = await multi.pexpire(key, ttlMs).hmget(key, ...dayFields).exec();
    return countsOf(results?.at(-1)?.[1] as Array<string | null> | undefined);
  }

  async getDays(userId: string, dayKeys: readonly string[]): Promise<DayCounts[]> {
    const pipeline = this.#redis.pipeline();
    for (const dayKey of dayKeys) pipeline.hmget(`u:${userId}:${dayKey}`, ...dayFields);
    const results = (await pipeline.exec()) ?? [];
    return dayKeys.map((_, index) => {
      const [error, values] = results[index] ?? [null, null];
      if (error !== null) throw error;
      return countsOf(values as Array<string | null>);
    });
  }

  async putRecord(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#redis.set(`r:${key}`, value, 'PX', ttlMs);
  }

  async getRecord(key: string): Promise<string | null> {
    return this.#redis.get(`r:${key}`);
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(`r:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
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
