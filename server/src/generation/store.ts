/**
 * Every query on `generations`, `prompt_cache` and `generation_workers` (see migration 006 for the
 * state and charge machines). Each transition is one conditional UPDATE whose WHERE clause is the
 * transition's precondition, so the database decides races: the caller learns whether it won from
 * whether a row came back. Times are the database's `now()`; durations are passed in milliseconds.
 */
import type pg from 'pg';
import type { Orientation } from '@titrate/shared';

export const generationStates = ['queued', 'running', 'ready', 'failed'] as const;
export type GenerationState = (typeof generationStates)[number];
export const chargeStates = ['none', 'held', 'kept', 'refunded'] as const;
export type ChargeState = (typeof chargeStates)[number];
/** interactive: a player waits; congested: shown later, charged once shown; pantry: a library fill, nobody's. */
export type GenerationPurpose = 'interactive' | 'congested' | 'pantry';
export type QueueName = 'interactive' | 'background';

export type NewGeneration = {
  id: string;
  /** Null for pantry fills only. */
  userId: string | null;
  sessionId: string;
  requestId: string;
  purpose: GenerationPurpose;
  queue: QueueName;
  charge: 'none' | 'held';
  provider: string;
  model: string;
  credits: number;
  usd: number;
  ledgerId: string | null;
  prompt: string;
  promptKey: string;
  promptHash: string;
  variant: number;
  genre: string;
  mood: string;
  style: string;
  energy: number;
  orientation: Orientation;
  width: number;
  height: number;
  p: number;
  reasons: string[];
  /** From now until the generation must be ready. */
  deadlineMs: number;
};

export type Generation = Omit<NewGeneration, 'charge' | 'deadlineMs'> & {
  state: GenerationState;
  charge: ChargeState;
  cacheHit: boolean;
  attempt: number;
  frameId: string | null;
  error: string | null;
  deadlineAtMs: number;
  settleByMs: number | null;
  answeredAtMs: number | null;
  answerSession: string | null;
  answerRequest: string | null;
  createdAtMs: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
};

/** One of a prompt's cached images. */
export type CachedVariant = { variant: number; frameId: string; promptHash: string };

/** The next variant of the prompt keyed by $1 (`next`): past every cached image and every generation not failed. */
const nextVariantQuery = `SELECT coalesce(max(variant) + 1, 0)::int AS next FROM (
  SELECT variant FROM prompt_cache WHERE prompt_key = $1
  UNION ALL SELECT variant FROM generations WHERE prompt_key = $1 AND state IN ('queued', 'running', 'ready')) v`;

export type QueueSampleRow = { queued: number; running: number; slots: number; recentMs: number | null };

const columns = `id, user_id AS "userId", session_id AS "sessionId", request_id AS "requestId", purpose, queue, state, charge,
  provider, model, credits, usd::float8 AS usd, ledger_id::text AS "ledgerId", prompt, prompt_key AS "promptKey",
  prompt_hash AS "promptHash", variant, genre, mood, style, energy::float8 AS energy, orientation, width, height,
  p::float8 AS p, reasons, cache_hit AS "cacheHit", attempt, frame_id AS "frameId", error,
  (extract(epoch FROM deadline_at) * 1000)::float8 AS "deadlineAtMs",
  (extract(epoch FROM settle_by) * 1000)::float8 AS "settleByMs",
  (extract(epoch FROM answered_at) * 1000)::float8 AS "answeredAtMs", answer_session AS "answerSession", answer_request AS "answerRequest",
  (extract(epoch FROM created_at) * 1000)::float8 AS "createdAtMs",
  (extract(epoch FROM started_at) * 1000)::float8 AS "startedAtMs",
  (extract(epoch FROM finished_at) * 1000)::float8 AS "finishedAtMs"`;

type Runner = pg.Pool | pg.PoolClient;

export type SettlementWindows = {
  /** How long a ready interactive frame waits for its user before the debit is refunded. */
  inboxHoldMs: number;
  /** How long a ready congested frame may wait to be shown before its debit is refunded. */
  displayWindowMs: number;
  /** After a congested frame is shown, how long a qualifying beacon may take to arrive. */
  beaconWindowMs: number;
  /** A congested frame's debit is kept when a beacon reports at least this much display. */
  displayMinMs: number;
  /** A ready interactive frame belongs to its waiting `next` this long before any request may take it. */
  handoffMs: number;
};

export class GenerationStore {
  readonly #pool: pg.Pool;
  readonly #windows: SettlementWindows;

  constructor(pool: pg.Pool, windows: SettlementWindows) {
    this.#pool = pool;
    this.#windows = windows;
  }

  get windows(): SettlementWindows {
    return this.#windows;
  }

  /** Inserts a generation (inside the debit's transaction) or, for a cache hit, a ready one. */
  async insert(client: Runner, generation: NewGeneration, ready?: { frameId: string }): Promise<void> {
    const g = generation;
    await client.query(
      `INSERT INTO generations (id, user_id, session_id, request_id, purpose, queue, state, charge, provider, model, credits, usd,
         ledger_id, prompt, prompt_key, prompt_hash, variant, genre, mood, style, energy, orientation, width, height, p, reasons,
         cache_hit, frame_id, deadline_at, settle_by, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::int, $12::numeric, $13::bigint, $14, $15, $16, $17::int, $18, $19, $20,
         $21::real, $22, $23::int, $24::int, $25::real, $26::jsonb, $27::boolean, $28,
         now() + make_interval(secs => $29::float8 / 1000),
         CASE WHEN $7 = 'ready' AND $8 = 'held' THEN now() + make_interval(secs => $30::float8 / 1000) END,
         CASE WHEN $7 = 'ready' THEN now() END, CASE WHEN $7 = 'ready' THEN now() END)`,
      [g.id, g.userId, g.sessionId, g.requestId, g.purpose, g.queue, ready === undefined ? 'queued' : 'ready', g.charge, g.provider,
        g.model, g.credits, g.usd, g.ledgerId, g.prompt, g.promptKey, g.promptHash, g.variant, g.genre, g.mood, g.style, g.energy,
        g.orientation, g.width, g.height, g.p, JSON.stringify(g.reasons), ready !== undefined, ready?.frameId ?? null, g.deadlineMs,
        this.#holdMs(g.purpose)],
    );
  }

  #holdMs(purpose: GenerationPurpose): number {
    return purpose === 'interactive' ? this.#windows.inboxHoldMs : this.#windows.displayWindowMs;
  }

  async get(id: string): Promise<Generation | null> {
    const { rows } = await this.#pool.query<Generation>(`SELECT ${columns} FROM generations WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** queued → running for one worker attempt; null when it is not queued any more or past its deadline. */
  async claim(id: string): Promise<Generation | null> {
    const { rows } = await this.#pool.query<Generation>(
      `UPDATE generations SET state = 'running', attempt = attempt + 1, started_at = now()
       WHERE id = $1 AND state = 'queued' AND deadline_at > now() RETURNING ${columns}`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** running → ready, only for the attempt that claimed it. Held charges get their settle-by time. */
  async complete(id: string, attempt: number, frameId: string, usd: number): Promise<Generation | null> {
    const { rows } = await this.#pool.query<Generation>(
      `UPDATE generations SET state = 'ready', frame_id = $3, usd = $4::numeric, finished_at = now(),
         settle_by = CASE WHEN charge = 'held' THEN now() + make_interval(secs => (CASE WHEN purpose = 'interactive' THEN $5 ELSE $6 END)::float8 / 1000) END
       WHERE id = $1 AND state = 'running' AND attempt = $2::int RETURNING ${columns}`,
      [id, attempt, frameId, usd, this.#windows.inboxHoldMs, this.#windows.displayWindowMs],
    );
    return rows[0] ?? null;
  }

  /**
   * queued/running → failed (for `attempt` only, when given). The charge moves held → refunded in
   * the same statement; the caller runs this as the guard of the ledger's refund transaction.
   */
  async fail(client: Runner | null, id: string, error: string, attempt: number | null): Promise<boolean> {
    const result = await (client ?? this.#pool).query(
      `UPDATE generations SET state = 'failed', error = left($2, 500), finished_at = now(),
         charge = CASE WHEN charge = 'held' THEN 'refunded' ELSE charge END
       WHERE id = $1 AND state IN ('queued', 'running') AND ($3::int IS NULL OR attempt = $3::int)`,
      [id, error, attempt],
    );
    return result.rowCount === 1;
  }

  /** ready + held → refunded once its settle-by time has passed (the refund's guard). */
  async expireHeld(client: Runner, id: string): Promise<boolean> {
    const result = await client.query(
      `UPDATE generations SET charge = 'refunded' WHERE id = $1 AND state = 'ready' AND charge = 'held' AND settle_by <= now()`,
      [id],
    );
    return result.rowCount === 1;
  }

  /** Marks a ready generation as shown by (session, request); interactive charges become final. */
  async answer(id: string, sessionId: string, requestId: string): Promise<Generation | null> {
    try {
      const { rows } = await this.#pool.query<Generation>(
        `UPDATE generations SET ${answerSet} WHERE id = $1 AND ${answerable} RETURNING ${columns}`,
        [id, sessionId, requestId, this.#windows.beaconWindowMs],
      );
      return rows[0] ?? null;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return null;
      throw error;
    }
  }

  /**
   * Takes the oldest ready, unshown frame of this user for this orientation, if any: frames whose
   * session went away, and congested frames generated in the background. A frame that a live
   * `next` is waiting for is left to it for `handoffMs`.
   */
  async takeFromInbox(userId: string, orientation: Orientation, sessionId: string, requestId: string): Promise<Generation | null> {
    try {
      return await this.#take(userId, orientation, sessionId, requestId);
    } catch (error) {
      // This request already took a frame (another handler of it, e.g. a reconnect): the unique
      // answer index refuses a second one, and the first is the answer.
      if ((error as { code?: string }).code === '23505') return this.answeredFor(sessionId, requestId);
      throw error;
    }
  }

  /** The generation that answered (session, request), if one did. */
  async answeredFor(sessionId: string, requestId: string): Promise<Generation | null> {
    const { rows } = await this.#pool.query<Generation>(
      `SELECT ${columns} FROM generations WHERE answer_session = $1 AND answer_request = $2`,
      [sessionId, requestId],
    );
    return rows[0] ?? null;
  }

  async #take(userId: string, orientation: Orientation, sessionId: string, requestId: string): Promise<Generation | null> {
    const { rows } = await this.#pool.query<Generation>(
      `UPDATE generations SET ${answerSet}
       WHERE id = (
         SELECT id FROM generations
         WHERE user_id = $1 AND state = 'ready' AND answered_at IS NULL AND orientation = $5 AND charge IN ('held', 'none')
           AND (purpose = 'congested' OR finished_at < now() - make_interval(secs => $6::float8 / 1000))
           AND finished_at > now() - make_interval(secs => $7::float8 / 1000)
         ORDER BY finished_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       AND ${answerable} RETURNING ${columns}`,
      [userId, sessionId, requestId, this.#windows.beaconWindowMs, orientation, this.#windows.handoffMs, this.#windows.inboxHoldMs],
    );
    return rows[0] ?? null;
  }

  /** Whether any frame of this user waits in the inbox, for any orientation, taken by nobody yet. */
  async hasInbox(userId: string): Promise<boolean> {
    return (await this.waitingInboxes([userId])).has(userId);
  }

  /** Of `userIds`, those with a frame waiting in their inbox (`hasInbox` for many, in one query). */
  async waitingInboxes(userIds: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.#pool.query<{ userId: string }>({
      name: 'generations_waiting_inboxes',
      text: `SELECT DISTINCT user_id AS "userId" FROM generations
             WHERE user_id = ANY($1::text[]) AND state = 'ready' AND answered_at IS NULL AND charge IN ('held', 'none')
               AND finished_at > now() - make_interval(secs => $2::float8 / 1000)`,
      values: [userIds, this.#windows.inboxHoldMs],
    });
    return new Set(rows.map((row) => row.userId));
  }

  /**
   * A beacon for a shown frame: a congested frame's held debit becomes final when it was displayed
   * at least `displayMinMs` within its beacon window. Answers whether the charge became final.
   */
  async recordDisplay(id: string, userId: string, dwellMs: number): Promise<boolean> {
    const { rows } = await this.#pool.query<{ kept: boolean }>(
      `UPDATE generations g SET displayed_ms = greatest(coalesce(g.displayed_ms, 0), $3::int),
         charge = CASE WHEN g.charge = 'held' AND $3::int >= $4::int AND g.settle_by > now() THEN 'kept' ELSE g.charge END
       FROM (SELECT id, charge AS before FROM generations WHERE id = $1 FOR UPDATE) o
       WHERE g.id = o.id AND g.user_id = $2 AND g.state = 'ready' AND g.answered_at IS NOT NULL
       RETURNING o.before = 'held' AND g.charge = 'kept' AS kept`,
      [id, userId, Math.min(dwellMs, 2_147_483_647), this.#windows.displayMinMs],
    );
    return rows[0]?.kept ?? false;
  }

  /** Unfinished generations past their deadline, oldest first. */
  async overdue(limit: number): Promise<Array<{ id: string; ledgerId: string | null; charge: ChargeState }>> {
    const { rows } = await this.#pool.query<{ id: string; ledgerId: string | null; charge: ChargeState }>(
      `SELECT id, ledger_id::text AS "ledgerId", charge FROM generations
       WHERE state IN ('queued', 'running') AND deadline_at <= now() ORDER BY deadline_at LIMIT $1::int`,
      [limit],
    );
    return rows;
  }

  /** Ready frames whose held debit is past its settle-by time. */
  async unsettled(limit: number): Promise<Array<{ id: string; ledgerId: string; purpose: 'interactive' | 'congested' }>> {
    const { rows } = await this.#pool.query<{ id: string; ledgerId: string; purpose: 'interactive' | 'congested' }>(
      `SELECT id, ledger_id::text AS "ledgerId", purpose FROM generations
       WHERE state = 'ready' AND charge = 'held' AND settle_by <= now() ORDER BY settle_by LIMIT $1::int`,
      [limit],
    );
    return rows;
  }

  // --- pantry fills ------------------------------------------------------------------------------

  /** Fill generations queued or running, per bucket (`genre|mood|orientation`). */
  async openFills(client: Runner = this.#pool): Promise<Map<string, number>> {
    const { rows } = await client.query<{ key: string; open: number }>(
      `SELECT genre || '|' || mood || '|' || orientation AS key, count(*)::int AS open FROM generations
       WHERE purpose = 'pantry' AND state IN ('queued', 'running') GROUP BY 1`,
    );
    return new Map(rows.map((row) => [row.key, row.open]));
  }

  /** Dollars committed to fills since midnight UTC (queued ones at their model's price). */
  async fillDollarsToday(client: Runner = this.#pool): Promise<number> {
    const { rows } = await client.query<{ usd: number }>(
      `SELECT coalesce(sum(usd), 0)::float8 AS usd FROM generations
       WHERE purpose = 'pantry' AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AND state <> 'failed'`,
    );
    return rows[0]!.usd;
  }

  // --- prompt cache ------------------------------------------------------------------------------

  /**
   * A prompt's cached images, by variant, and the variant a new generation of it would be
   * (`nextVariant`), in one round trip: an order needs the second exactly when the first has
   * nothing for its viewer.
   */
  async promptVariants(promptKey: string): Promise<{ cached: CachedVariant[]; next: number }> {
    const { rows } = await this.#pool.query<CachedVariant & { next: number | null }>({
      name: 'prompt_variants',
      text: `SELECT variant, frame_id AS "frameId", prompt_hash AS "promptHash", NULL::int AS next FROM prompt_cache WHERE prompt_key = $1
       UNION ALL
       SELECT NULL, NULL, NULL, next FROM (${nextVariantQuery}) n
       ORDER BY next NULLS FIRST, variant`,
      values: [promptKey],
    });
    const next = rows.pop()!.next!;
    return { cached: rows.map(({ variant, frameId, promptHash }) => ({ variant, frameId, promptHash })), next };
  }

  /** The next variant of a prompt: past every cached image and every generation not failed. */
  async nextVariant(promptKey: string, client: Runner = this.#pool): Promise<number> {
    const { rows } = await client.query<{ next: number }>(nextVariantQuery, [promptKey]);
    return rows[0]!.next;
  }

  /** Congested generations of a user still on their way or waiting to be shown. */
  async openCongested(userId: string): Promise<number> {
    const { rows } = await this.#pool.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM generations
       WHERE user_id = $1 AND purpose = 'congested' AND (state IN ('queued', 'running') OR (state = 'ready' AND answered_at IS NULL AND charge = 'held'))`,
      [userId],
    );
    return rows[0]!.open;
  }

  /** Whether a ready generation shows this frame (then it is a paid fresh frame, not the pantry's). */
  async frameIsDelivered(frameId: string): Promise<boolean> {
    const { rows } = await this.#pool.query(`SELECT 1 FROM generations WHERE frame_id = $1 AND state = 'ready' LIMIT 1`, [frameId]);
    return rows.length > 0;
  }

  async touchCache(promptHash: string): Promise<void> {
    // Eviction looks for a week unused; within the hour a touch would only contend for the row.
    await this.#pool.query(`UPDATE prompt_cache SET last_used_at = now() WHERE prompt_hash = $1 AND last_used_at < now() - interval '1 hour'`, [promptHash]);
  }

  async putCache(entry: { promptHash: string; promptKey: string; variant: number; frameId: string; model: string }): Promise<void> {
    await this.#pool.query(
      `INSERT INTO prompt_cache (prompt_hash, prompt_key, variant, frame_id, model) VALUES ($1, $2, $3::int, $4, $5)
       ON CONFLICT DO NOTHING`,
      [entry.promptHash, entry.promptKey, entry.variant, entry.frameId, entry.model],
    );
  }

  /** Forgets cache entries unused for `unusedMs`; answers how many. */
  async evictCache(unusedMs: number): Promise<number> {
    const result = await this.#pool.query(`DELETE FROM prompt_cache WHERE last_used_at < now() - make_interval(secs => $1::float8 / 1000)`, [unusedMs]);
    return result.rowCount ?? 0;
  }

  // --- workers and the wait estimate ---------------------------------------------------------------

  async heartbeat(workerId: string, slots: number): Promise<void> {
    await this.#pool.query(
      `INSERT INTO generation_workers (id, slots, heartbeat_at) VALUES ($1, $2::int, now())
       ON CONFLICT (id) DO UPDATE SET slots = EXCLUDED.slots, heartbeat_at = now()`,
      [workerId, slots],
    );
  }

  async removeWorker(workerId: string): Promise<void> {
    await this.#pool.query(`DELETE FROM generation_workers WHERE id = $1`, [workerId]);
  }

  /** Queue depth, live worker slots and the mean duration of the last `recentCount` generations. */
  async sample(aliveMs: number, recentCount: number): Promise<QueueSampleRow> {
    const { rows } = await this.#pool.query<QueueSampleRow>(
      `SELECT
         (SELECT count(*) FROM generations WHERE state = 'queued' AND queue = 'interactive')::int AS queued,
         (SELECT count(*) FROM generations WHERE state = 'running')::int AS running,
         (SELECT coalesce(sum(slots), 0) FROM generation_workers
           WHERE heartbeat_at > now() - make_interval(secs => $1::float8 / 1000))::int AS slots,
         (SELECT avg(ms) FROM (
            SELECT extract(epoch FROM finished_at - started_at) * 1000 AS ms FROM generations
            WHERE state = 'ready' AND NOT cache_hit AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT $2::int) recent
         )::float8 AS "recentMs"`,
      [aliveMs, recentCount],
    );
    return rows[0]!;
  }
}

/** The answer transition: $2 session, $3 request, $4 beacon window (ms); $1 is the caller's. */
const answerSet = `answered_at = now(), answer_session = $2, answer_request = $3,
  charge = CASE WHEN charge = 'held' AND purpose = 'interactive' THEN 'kept' ELSE charge END,
  settle_by = CASE WHEN charge = 'held' AND purpose = 'congested' THEN now() + make_interval(secs => $4::float8 / 1000) ELSE settle_by END`;
const answerable = `state = 'ready' AND answered_at IS NULL AND charge IN ('held', 'none')
  AND (charge = 'none' OR settle_by IS NULL OR settle_by > now())`;
