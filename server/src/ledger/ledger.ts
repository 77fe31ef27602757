/**
 * The credit ledger: the only code that moves credits. Every operation is one PostgreSQL
 * transaction that takes the account's advisory lock (a user's own account, or the team pool it
 * shares), appends ledger entries first, then updates the snapshot in `user_credits`.
 *
 * Invariants (checked by the database where it can, by reconcile and by property tests):
 * - the entries of an account sum to its available balance, and `balance_after` is that running
 *   sum, never negative;
 * - a (user, request id) is used once: a retry with the same parameters replays the original
 *   outcome, a retry with other parameters is refused and changes nothing;
 * - a debit is refunded at most once (primary key of `credit_refunds`);
 * - a cycle is closed at most once (primary key of `credit_cycles`).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { inTransaction } from '../db/pool.js';
import { accountTerms, closeCycle, downgradeClamp, fingerprint, joiningRefill, type MemberTerms, type TierTerms } from './arithmetic.js';
import { cycleAfter, cycleAt } from './cycle.js';
import { limits } from '../limits.js';
import { Turns } from '../turns.js';

export type EntryType = 'generation' | 'burst' | 'refund' | 'refill' | 'grant' | 'expire' | 'rollover' | 'decay' | 'downgrade';
export type DebitKind = 'generation' | 'burst';

export type LedgerEntry = {
  id: string;
  ts: string;
  userId: string | null;
  type: EntryType;
  amount: number;
  balanceAfter: number;
  requestId: string | null;
  details: Record<string, unknown>;
};

export type CreditState = {
  accountId: string;
  kind: 'user' | 'team';
  available: number;
  used: number;
  rollover: number;
  cycleStart: string;
  cycleEnd: string;
};

export type AccountView = CreditState & { unlimited: boolean; burstUntil: string | null; burstPrice: number };

type ViewRow = {
  userId: string;
  accountId: string | null;
  kind: 'user' | 'team';
  available: number;
  used: number;
  rollover: number;
  cycleStart: Date;
  cycleEnd: Date;
  burstUntil: Date | null;
  unlimited: boolean;
  burstPrice: number;
  joined: boolean;
};

export type DebitRequest = {
  userId: string;
  kind: DebitKind;
  /** The caller's idempotency key; stored as `${kind}:${requestId}`. */
  requestId: string;
  amount: number;
  /** Parameters that must match when the request is retried (besides kind and amount). */
  parameters?: Record<string, string | number | boolean | null>;
  details?: Record<string, unknown>;
  /**
   * Facts known before the debit that its stored outcome must name (e.g. the generation it pays
   * for), written with the idempotency record and replayed with it, under the debit's own facts.
   */
  outcome?: Record<string, unknown>;
};

export type DebitResult =
  | { status: 'debited'; replayed: boolean; ledgerId: string | null; charged: number; balanceAfter: number | null; outcome: Record<string, unknown> }
  | { status: 'insufficient'; available: number; required: number }
  | { status: 'mismatch' }
  | { status: 'unknown_user' };

/**
 * Work that must commit or roll back with the debit (e.g. enqueueing the generation job). It must
 * not debit the same user again: that debit would wait for this one's turn (see `Ledger.debit`).
 */
export type InsideDebit = (client: pg.PoolClient, debit: { ledgerId: string | null; charged: number }) => Promise<Record<string, unknown> | void>;

export class UnknownUserError extends Error {
  override readonly name = 'UnknownUserError';
}

type Snapshot = {
  accountId: string;
  kind: 'user' | 'team';
  tz: string;
  anchorDay: number;
  available: number;
  used: number;
  rollover: number;
  refilledBase: number;
  cycleStartMs: number;
  cycleEndMs: number;
};

type MemberRow = {
  id: string;
  tier: string;
  tz: string;
  annual: boolean;
  team: string | null;
  region: string | null;
  anchorDay: number;
  terms: TierTerms;
  burstPrice: number;
};

/** Closing more cycles than this in one call means the clock or the data is wrong. */
const cyclesPerCallMax = 240;
/** The largest amount or balance the ledger's `integer` columns hold. */
const int32Max = 2 ** 31 - 1;

/** A user's credit account: their own (the user id), or their team's pool (`team:<name>`). */
/** `Ledger.readViews`: the account needs work under its lock before it can be viewed (`Ledger.view` does it). */
export const unprepared = 'unprepared' as const;

export const accountIdOf = (user: { id: string; team: string | null }) => (user.team === null ? user.id : `team:${user.team}`);

const memberSelect = `SELECT u.id, u.tier, u.tz, u.annual, u.team, u.region, u.anchor_day AS "anchorDay",
    t.base_quota AS "baseQuota", t.rollover_cap::float8 AS "rolloverCap", t.annual_rollover_cap::float8 AS "annualRolloverCap",
    t.region_multipliers AS "regionMultipliers", t.unlimited, t.burst_price AS "burstPrice"
  FROM users u JOIN tiers t ON t.name = u.tier`;

type RawMember = Omit<MemberRow, 'terms'> & { baseQuota: number; rolloverCap: number; annualRolloverCap: number; regionMultipliers: Record<string, number>; unlimited: boolean };

function toMember(row: RawMember): MemberRow {
  const { baseQuota, rolloverCap, annualRolloverCap, regionMultipliers, unlimited, ...rest } = row;
  return { ...rest, terms: { baseQuota, rolloverCap, annualRolloverCap, regionMultipliers, unlimited } };
}

const memberTerms = (member: MemberRow): MemberTerms => ({ tier: member.terms, region: member.region, annual: member.annual });

/** Takes account $1's lock until the transaction ends: the key every debit, credit and tier move of the account takes (the SQL functions too). */
export const accountLockStatement = `SELECT pg_advisory_xact_lock(hashtextextended('credit:' || $1, 0))`;

export class Ledger {
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #onDrift: (accountId: string) => void;
  readonly #onChange: (accountId: string) => void;
  readonly #debitTurns = new Turns();

  constructor(
    pool: pg.Pool,
    log: Logger,
    options: { now?: () => number; onDrift?: (accountId: string) => void; onChange?: (accountId: string) => void } = {},
  ) {
    this.#pool = pool;
    this.#log = log;
    this.#now = options.now ?? Date.now;
    this.#onDrift = options.onDrift ?? (() => undefined);
    this.#onChange = options.onChange ?? (() => undefined);
  }

  // --- transactions and locks ------------------------------------------------------------------

  #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, work);
  }

  /** A transaction that reports the accounts it changed once it has committed. */
  async #notifying<T>(changed: string[], work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = await this.#transaction(work);
    for (const accountId of changed) this.#onChange(accountId);
    return result;
  }

  async #lock(client: pg.PoolClient, accountId: string): Promise<void> {
    await client.query(accountLockStatement, [accountId]);
  }

  async #member(client: pg.PoolClient, userId: string): Promise<MemberRow | null> {
    const { rows } = await client.query<RawMember>(`${memberSelect} WHERE u.id = $1`, [userId]);
    return rows[0] === undefined ? null : toMember(rows[0]);
  }

  async #members(client: pg.PoolClient, snapshot: Snapshot): Promise<MemberRow[]> {
    const { rows } =
      snapshot.kind === 'user'
        ? await client.query<RawMember>(`${memberSelect} WHERE u.id = $1`, [snapshot.accountId])
        : await client.query<RawMember>(`${memberSelect} JOIN credit_pool_members m ON m.user_id = u.id WHERE m.account_id = $1`, [snapshot.accountId]);
    return rows.map(toMember);
  }

  async #snapshot(client: pg.PoolClient, accountId: string): Promise<Snapshot | null> {
    const { rows } = await client.query<Snapshot & { cycleStartMs: string; cycleEndMs: string }>(
      `SELECT account_id AS "accountId", kind, tz, anchor_day AS "anchorDay", available, used, rollover, refilled_base AS "refilledBase",
         (extract(epoch FROM cycle_start) * 1000)::bigint AS "cycleStartMs", (extract(epoch FROM cycle_end) * 1000)::bigint AS "cycleEndMs"
       FROM user_credits WHERE account_id = $1 FOR UPDATE`,
      [accountId],
    );
    const row = rows[0];
    return row === undefined ? null : { ...row, cycleStartMs: Number(row.cycleStartMs), cycleEndMs: Number(row.cycleEndMs) };
  }

  async #saveSnapshot(client: pg.PoolClient, snapshot: Snapshot): Promise<void> {
    await client.query(
      `UPDATE user_credits SET available = $2::int, used = $3::int, rollover = $4::int, cycle_start = to_timestamp($5::float8 / 1000),
         cycle_end = to_timestamp($6::float8 / 1000), refilled_base = $7::int, version = version + 1, updated_at = now() WHERE account_id = $1`,
      [snapshot.accountId, snapshot.available, snapshot.used, snapshot.rollover, snapshot.cycleStartMs, snapshot.cycleEndMs, snapshot.refilledBase],
    );
  }

  /** The running balance as the ledger has it: the last entry's `balance_after`, 0 without entries. */
  async #ledgerBalance(client: pg.PoolClient, accountId: string): Promise<number> {
    const { rows } = await client.query<{ balance: number }>(
      `SELECT balance_after AS balance FROM credit_ledger WHERE account_id = $1 ORDER BY id DESC LIMIT 1`,
      [accountId],
    );
    return rows[0]?.balance ?? 0;
  }

  async #lastEntryId(client: pg.PoolClient, accountId: string): Promise<string> {
    const { rows } = await client.query<{ id: string }>(`SELECT id::text FROM credit_ledger WHERE account_id = $1 ORDER BY id DESC LIMIT 1`, [accountId]);
    return rows[0]?.id ?? '0';
  }

  /** The id of the last entry of the last closed cycle: later entries belong to the current one. */
  async #cycleBoundary(client: pg.PoolClient, accountId: string): Promise<string> {
    const { rows } = await client.query<{ id: string }>(
      `SELECT last_entry_id::text AS id FROM credit_cycles WHERE account_id = $1 ORDER BY cycle_start DESC LIMIT 1`,
      [accountId],
    );
    return rows[0]?.id ?? '0';
  }

  /** Appends one entry after `balanceBefore` and returns its id and the new balance. */
  async #append(
    client: pg.PoolClient,
    entry: { accountId: string; userId: string | null; type: EntryType; amount: number; requestId?: string | null; details?: Record<string, unknown> },
    balanceBefore: number,
  ): Promise<{ id: string; balanceAfter: number }> {
    const balanceAfter = balanceBefore + entry.amount;
    if (!Number.isInteger(entry.amount) || entry.amount === 0) throw new Error(`ledger amounts are non-zero integers, got ${entry.amount}`);
    if (balanceAfter < 0) throw new Error(`entry would take ${entry.accountId} below zero (${balanceBefore} ${entry.amount})`);
    if (balanceAfter > int32Max) throw new Error(`entry would take ${entry.accountId} past the ledger's 32-bit balances (${balanceBefore} + ${entry.amount})`);
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO credit_ledger (account_id, user_id, type, amount, balance_after, request_id, details)
       VALUES ($1, $2, $3, $4::int, $5::int, $6, $7::jsonb) RETURNING id::text`,
      [entry.accountId, entry.userId, entry.type, entry.amount, balanceAfter, entry.requestId ?? null, JSON.stringify(entry.details ?? {})],
    );
    return { id: rows[0]!.id, balanceAfter };
  }

  // --- accounts --------------------------------------------------------------------------------

  /**
   * The user's credit account, opened if needed, locked, with due cycles closed and its balance
   * checked against the ledger. Must run inside a transaction.
   */
  async #openAndLock(client: pg.PoolClient, member: MemberRow): Promise<Snapshot> {
    const nowMs = this.#now();
    const accountId = accountIdOf(member);
    await this.#lock(client, accountId);
    let snapshot = await this.#snapshot(client, accountId);
    if (snapshot === null) {
      const cycle = cycleAt(nowMs, member.tz, member.anchorDay);
      await client.query(
        `INSERT INTO user_credits (account_id, kind, tz, anchor_day, available, cycle_start, cycle_end)
         VALUES ($1, $2, $3, $4::smallint, 0, to_timestamp($5::float8 / 1000), to_timestamp($6::float8 / 1000))`,
        [accountId, member.team === null ? 'user' : 'team', member.tz, member.anchorDay, cycle.startMs, cycle.endMs],
      );
      snapshot = (await this.#snapshot(client, accountId))!;
      if (member.team === null) {
        const base = accountTerms([memberTerms(member)]).base;
        if (base > 0) {
          const refill = await this.#append(client, { accountId, userId: member.id, type: 'refill', amount: base, details: { reason: 'account_opened', cycleStart: new Date(cycle.startMs).toISOString() } }, 0);
          snapshot = { ...snapshot, available: refill.balanceAfter, refilledBase: base };
          await this.#saveSnapshot(client, snapshot);
        }
      }
    }
    // Close what has ended first, so that a member joining now adds to the current cycle.
    snapshot = (await this.#closeDueCycles(client, snapshot, nowMs)).snapshot;
    if (member.team !== null) snapshot = await this.#joinPool(client, snapshot, member);
    return this.#checkAgainstLedger(client, snapshot);
  }

  async #joinPool(client: pg.PoolClient, snapshot: Snapshot, member: MemberRow): Promise<Snapshot> {
    const joined = await client.query(
      `INSERT INTO credit_pool_members (user_id, account_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
      [member.id, snapshot.accountId],
    );
    if (joined.rowCount === 0) return snapshot;
    const base = joiningRefill(accountTerms([memberTerms(member)]).base, snapshot.refilledBase);
    if (base === 0) return snapshot;
    const balance = await this.#ledgerBalance(client, snapshot.accountId);
    const refill = await this.#append(client, { accountId: snapshot.accountId, userId: member.id, type: 'refill', amount: base, details: { reason: 'member_joined' } }, balance);
    const updated = { ...snapshot, available: refill.balanceAfter, refilledBase: snapshot.refilledBase + base };
    await this.#saveSnapshot(client, updated);
    return updated;
  }

  /** The ledger is the truth: a snapshot that disagrees is repaired and reported. */
  async #checkAgainstLedger(client: pg.PoolClient, snapshot: Snapshot): Promise<Snapshot> {
    const balance = await this.#ledgerBalance(client, snapshot.accountId);
    if (balance === snapshot.available) return snapshot;
    this.#log.error({ account: snapshot.accountId, snapshot: snapshot.available, ledger: balance }, 'credit snapshot drifted from the ledger; repairing');
    this.#onDrift(snapshot.accountId);
    const repaired = { ...snapshot, available: balance };
    await this.#saveSnapshot(client, repaired);
    return repaired;
  }

  async #closeDueCycles(client: pg.PoolClient, snapshot: Snapshot, asOfMs: number): Promise<{ snapshot: Snapshot; closed: number }> {
    let current = snapshot;
    let closed = 0;
    for (; current.cycleEndMs <= asOfMs; closed += 1) {
      if (closed >= cyclesPerCallMax) throw new Error(`more than ${cyclesPerCallMax} cycles due for ${current.accountId}`);
      const members = await this.#members(client, current);
      const { base, cap } = accountTerms(members.map(memberTerms));
      const balance = await this.#ledgerBalance(client, current.accountId);
      const close = closeCycle(balance, base, cap);
      const cycleDetails = { cycleStart: new Date(current.cycleStartMs).toISOString(), cycleEnd: new Date(current.cycleEndMs).toISOString() };
      let running = balance;
      let lastEntryId = await this.#lastEntryId(client, current.accountId);
      for (const entry of close.entries) {
        const details = entry.type === 'rollover' ? { ...cycleDetails, unused: close.unused, carried: close.carried } : cycleDetails;
        const appended = await this.#append(client, { accountId: current.accountId, userId: current.kind === 'user' ? current.accountId : null, ...entry, details }, running);
        running = appended.balanceAfter;
        lastEntryId = appended.id;
      }
      const inserted = await client.query(
        `INSERT INTO credit_cycles (account_id, cycle_start, cycle_end, unused, carried, decay, rollover, refill, last_entry_id)
         VALUES ($1, to_timestamp($2::float8 / 1000), to_timestamp($3::float8 / 1000), $4::int, $5::int, $6::int, $7::int, $8::int, $9::bigint)
         ON CONFLICT DO NOTHING`,
        [current.accountId, current.cycleStartMs, current.cycleEndMs, close.unused, close.carried, close.decay, close.rollover, close.refill, lastEntryId],
      );
      if (inserted.rowCount === 0) throw new Error(`cycle ${current.accountId}@${current.cycleStartMs} was already closed`);
      const next = cycleAfter(current.cycleEndMs, current.tz, current.anchorDay);
      if (next.startMs !== current.cycleEndMs || next.endMs <= next.startMs) {
        throw new Error(`cycles of ${current.accountId} do not tile: ${current.cycleEndMs} → ${next.startMs}..${next.endMs}`);
      }
      current = { ...current, available: running, used: 0, rollover: close.rollover, refilledBase: base, cycleStartMs: next.startMs, cycleEndMs: next.endMs };
      await this.#saveSnapshot(client, current);
    }
    return { snapshot: current, closed };
  }

  // --- operations ------------------------------------------------------------------------------

  /**
   * Debits `amount` credits for (user, request id), then runs `inside` in the same transaction.
   * A retry with the same parameters replays the stored outcome without running `inside` again.
   * The debit itself is the `credit_debit` function (one round trip); without `inside` and on an
   * account in good order, that single statement is the whole transaction. What `inside` returns
   * is added to the stored outcome by one more statement: an outcome known before the debit goes
   * in `request.outcome` instead, and is written with the record.
   */
  async debit(request: DebitRequest, inside?: InsideDebit): Promise<DebitResult> {
    if (!Number.isInteger(request.amount) || request.amount <= 0) throw new Error(`debit amounts are positive integers, got ${request.amount}`);
    // One user's debits on this node take turns (see Turns): the account's lock would make all but
    // one wait anyway, each holding a pool client while it did.
    return this.#debitTurns.run(request.userId, () => this.#debit(request, inside));
  }

  async #debit(request: DebitRequest, inside: InsideDebit | undefined): Promise<DebitResult> {
    const call = debitCallOf(request);
    if (inside === undefined) {
      const fast = await this.#callDebit(this.#pool, call);
      if (fast.status !== 'prepare') return toDebitResult(fast, request.amount);
    }
    return this.#transaction(async (client) => {
      let row = await this.#callDebit(client, call);
      if (row.status === 'prepare') {
        const member = await this.#member(client, request.userId);
        if (member === null) return { status: 'unknown_user' as const };
        await this.#openAndLock(client, member);
        row = await this.#callDebit(client, call);
        if (row.status === 'prepare') throw new Error(`account of ${request.userId} is still not ready after preparing it`);
      }
      if (row.status === 'debited' && inside !== undefined) {
        const extra = await inside(client, { ledgerId: row.ledgerId, charged: row.charged });
        if (extra !== undefined && Object.keys(extra).length > 0) {
          row = { ...row, outcome: { ...row.outcome, ...extra } };
          await client.query(`UPDATE credit_requests SET outcome = outcome || $3::jsonb WHERE user_id = $1 AND request_id = $2`, [
            call.userId, call.requestId, JSON.stringify(extra),
          ]);
        }
      }
      return toDebitResult(row, request.amount);
    });
  }

  async #callDebit(
    runner: pg.Pool | pg.PoolClient,
    call: DebitCall,
  ): Promise<DebitRow> {
    // A named statement is parsed and planned once per connection.
    const { rows } = await runner.query<DebitRow>({
      name: 'credit_debit',
      text: `SELECT status, ledger_id::text AS "ledgerId", charged, balance_after AS "balanceAfter", available, outcome
       FROM credit_debit($1, $2, $3, $4::int, $5, $6::jsonb, to_timestamp($7::float8 / 1000), $8::jsonb)`,
      values: [
        call.userId, call.requestId, call.kind, call.amount, call.fingerprint, JSON.stringify(call.details), this.#now(),
        call.outcome === undefined ? null : JSON.stringify(call.outcome),
      ],
    });
    return rows[0]!;
  }

  async #request(client: pg.PoolClient, userId: string, requestId: string) {
    const { rows } = await client.query<{ fingerprint: string; ledgerId: string | null; outcome: Record<string, unknown> }>(
      `SELECT fingerprint, ledger_id::text AS "ledgerId", outcome FROM credit_requests WHERE user_id = $1 AND request_id = $2`,
      [userId, requestId],
    );
    return rows[0] ?? null;
  }

  /**
   * Refunds a debit once; a second call returns the first refund. `guard` runs first in the same
   * transaction (e.g. the conditional state change of the generation being refunded): when it
   * answers false nothing is refunded and the answer is null, so the change and the refund commit
   * together or not at all.
   */
  async refund(
    debitId: string,
    reason: string,
    guard?: (client: pg.PoolClient) => Promise<boolean>,
  ): Promise<{ refundId: string; amount: number; replayed: boolean } | null> {
    const changed: string[] = [];
    return this.#notifying(changed, async (client) => {
      if (guard !== undefined && !(await guard(client))) return null;
      const { rows } = await client.query<{ accountId: string; userId: string | null; amount: number; requestId: string | null }>(
        `SELECT account_id AS "accountId", user_id AS "userId", amount, request_id AS "requestId" FROM credit_ledger
         WHERE id = $1::bigint AND type IN ('generation', 'burst')`,
        [debitId],
      );
      const debit = rows[0];
      if (debit === undefined) return null;
      await this.#lock(client, debit.accountId);
      const earlier = await client.query<{ refundId: string }>(`SELECT refund_id::text AS "refundId" FROM credit_refunds WHERE debit_id = $1::bigint`, [debitId]);
      if (earlier.rows[0] !== undefined) return { refundId: earlier.rows[0].refundId, amount: -debit.amount, replayed: true };
      const snapshot = await this.#checkAgainstLedger(client, (await this.#snapshot(client, debit.accountId))!);
      const amount = -debit.amount;
      const entry = await this.#append(
        client,
        { accountId: debit.accountId, userId: debit.userId, type: 'refund', amount, requestId: debit.requestId, details: { debitId, reason } },
        snapshot.available,
      );
      await client.query(`INSERT INTO credit_refunds (debit_id, refund_id) VALUES ($1::bigint, $2::bigint)`, [debitId, entry.id]);
      changed.push(debit.accountId);
      const sameCycle = BigInt(debitId) > BigInt(await this.#cycleBoundary(client, debit.accountId));
      await this.#saveSnapshot(client, { ...snapshot, available: entry.balanceAfter, used: sameCycle ? Math.max(0, snapshot.used - amount) : snapshot.used });
      return { refundId: entry.id, amount, replayed: false };
    });
  }

  /** Adds credits to the user's account, once per grant id. */
  async grant(userId: string, amount: number, grantId: string, reason: string | null): Promise<
    | { status: 'granted'; replayed: boolean; ledgerId: string; balanceAfter: number }
    | { status: 'mismatch' }
    | { status: 'unknown_user' }
    | { status: 'over_limit'; available: number }
  > {
    if (!Number.isInteger(amount) || amount <= 0) throw new Error(`grants are positive integers, got ${amount}`);
    const requestId = `grant:${grantId}`;
    const print = fingerprint('grant', { amount });
    const changed: string[] = [];
    return this.#notifying(changed, async (client) => {
      const member = await this.#member(client, userId);
      if (member === null) return { status: 'unknown_user' as const };
      const snapshot = await this.#openAndLock(client, member);
      const earlier = await this.#request(client, userId, requestId);
      if (earlier !== null) {
        if (earlier.fingerprint !== print) return { status: 'mismatch' as const };
        return { status: 'granted' as const, replayed: true, ledgerId: earlier.ledgerId!, balanceAfter: Number(earlier.outcome['balanceAfter']) };
      }
      if (snapshot.available + amount > limits.creditBalanceMax) return { status: 'over_limit' as const, available: snapshot.available };
      const entry = await this.#append(client, { accountId: snapshot.accountId, userId, type: 'grant', amount, requestId, details: reason === null ? {} : { reason } }, snapshot.available);
      changed.push(snapshot.accountId);
      await this.#saveSnapshot(client, { ...snapshot, available: entry.balanceAfter });
      await client.query(
        `INSERT INTO credit_requests (user_id, request_id, kind, fingerprint, ledger_id, outcome) VALUES ($1, $2, 'grant', $3, $4::bigint, $5::jsonb)`,
        [userId, requestId, print, entry.id, JSON.stringify({ amount, balanceAfter: entry.balanceAfter })],
      );
      return { status: 'granted' as const, replayed: false, ledgerId: entry.id, balanceAfter: entry.balanceAfter };
    });
  }

  /**
   * Moves a user to another tier. An upgrade applies at once (the difference in base quota is
   * refilled now); a lower rollover cap clamps the rollover carried into this cycle, with a
   * `downgrade` entry holding the before and after.
   */
  async changeTier(userId: string, tierName: string): Promise<
    { status: 'changed'; from: string; to: string; refilled: number; clamped: number } | { status: 'unknown_user' } | { status: 'unknown_tier' }
  > {
    const changed: string[] = [];
    return this.#notifying(changed, async (client) => {
      const unlocked = await this.#member(client, userId);
      if (unlocked === null) return { status: 'unknown_user' as const };
      // Lock the account (a user's team never changes) before reading the tier we change from.
      await this.#lock(client, accountIdOf(unlocked));
      const before = (await this.#member(client, userId))!;
      const tierExists = await client.query(`SELECT 1 FROM tiers WHERE name = $1`, [tierName]);
      if (tierExists.rowCount === 0) return { status: 'unknown_tier' as const };
      if (before.tier === tierName) return { status: 'changed' as const, from: before.tier, to: tierName, refilled: 0, clamped: 0 };
      const account = await this.#openAndLock(client, before);
      await client.query(`UPDATE users SET tier = $2, updated_at = now() WHERE id = $1`, [userId, tierName]);
      const members = await this.#members(client, account);
      const termsAfter = accountTerms(members.map(memberTerms));
      const termsBefore = accountTerms(members.map((member) => (member.id === userId ? memberTerms(before) : memberTerms(member))));
      let current = account;
      // Refill only above what this cycle already refilled: tier switches cannot mint credits.
      const refilled = Math.max(0, termsAfter.base - current.refilledBase);
      if (refilled > 0) {
        const entry = await this.#append(client, { accountId: current.accountId, userId, type: 'refill', amount: refilled, details: { reason: 'upgrade', fromTier: before.tier, toTier: tierName } }, current.available);
        current = { ...current, available: entry.balanceAfter, refilledBase: termsAfter.base };
      }
      const clamped = downgradeClamp(current.rollover, current.available, termsAfter.cap);
      if (clamped > 0) {
        const entry = await this.#append(
          client,
          {
            accountId: current.accountId, userId, type: 'downgrade', amount: -clamped,
            details: {
              before: { tier: before.tier, rollover: current.rollover, available: current.available, cap: termsBefore.cap },
              after: { tier: tierName, rollover: current.rollover - clamped, available: current.available - clamped, cap: termsAfter.cap },
            },
          },
          current.available,
        );
        current = { ...current, available: entry.balanceAfter, rollover: current.rollover - clamped };
      }
      await this.#saveSnapshot(client, current);
      changed.push(current.accountId);
      return { status: 'changed' as const, from: before.tier, to: tierName, refilled, clamped };
    });
  }

  /**
   * Closes every cycle that ended by `asOfMs`; running it again for the same moment changes
   * nothing. Each account is its own transaction: one that cannot be closed (logged, and named in
   * `failed`) leaves every other account's cycles closed. Past `limits.cycleFailuresMax` failures
   * the run stops with an error: so many is the database, not a few accounts.
   */
  async runCycles(asOfMs: number): Promise<{ accounts: number; cyclesClosed: number; failed: string[] }> {
    const { rows } = await this.#pool.query<{ accountId: string }>(
      `SELECT account_id AS "accountId" FROM user_credits WHERE cycle_end <= to_timestamp($1::float8 / 1000) ORDER BY account_id`,
      [asOfMs],
    );
    let cyclesClosed = 0;
    const failed: string[] = [];
    for (const { accountId } of rows) {
      let closed: number;
      try {
        closed = await this.#transaction(async (client) => {
          await this.#lock(client, accountId);
          const snapshot = await this.#snapshot(client, accountId);
          if (snapshot === null) return 0;
          return (await this.#closeDueCycles(client, await this.#checkAgainstLedger(client, snapshot), asOfMs)).closed;
        });
      } catch (error) {
        failed.push(accountId);
        this.#log.error({ err: error, account: accountId }, "an account's credit cycle could not be closed");
        if (failed.length >= limits.cycleFailuresMax) throw new Error(`credit cycles stopped after ${failed.length} accounts failed`, { cause: error });
        continue;
      }
      cyclesClosed += closed;
      this.#onChange(accountId);
    }
    return { accounts: rows.length, cyclesClosed, failed };
  }

  /** Recomputes every snapshot from the ledger and repairs the ones that drifted. */
  async reconcile(): Promise<{ checked: number; drifted: Array<{ accountId: string; snapshot: CreditState; ledger: Omit<CreditState, 'accountId' | 'kind' | 'cycleStart' | 'cycleEnd'> }> }> {
    const { rows } = await this.#pool.query<{ accountId: string }>(`SELECT account_id AS "accountId" FROM user_credits ORDER BY account_id`);
    const drifted: Awaited<ReturnType<Ledger['reconcile']>>['drifted'] = [];
    for (const { accountId } of rows) {
      await this.#transaction(async (client) => {
        await this.#lock(client, accountId);
        const snapshot = (await this.#snapshot(client, accountId))!;
        const truth = await this.#derive(client, snapshot);
        if (truth.available === snapshot.available && truth.used === snapshot.used && truth.rollover === snapshot.rollover) return;
        drifted.push({ accountId, snapshot: stateOf(snapshot), ledger: truth });
        this.#onDrift(accountId);
        await this.#saveSnapshot(client, { ...snapshot, ...truth });
      });
    }
    return { checked: rows.length, drifted };
  }

  /**
   * What the ledger says an account's snapshot should hold. The current cycle is everything after
   * the last closed cycle's last entry (by id, the order of appends): `used` nets its debits and
   * the refunds of its own debits; `rollover` is what the last close carried, less downgrades.
   */
  async #derive(client: pg.PoolClient, snapshot: Snapshot): Promise<{ available: number; used: number; rollover: number }> {
    const boundary = await this.#cycleBoundary(client, snapshot.accountId);
    const { rows } = await client.query<{ available: number; last: number | null; spent: number; refunded: number; adjusted: number }>(
      `SELECT coalesce(sum(amount), 0)::int AS available,
         (SELECT balance_after FROM credit_ledger WHERE account_id = $1 ORDER BY id DESC LIMIT 1) AS last,
         coalesce(sum(-amount) FILTER (WHERE type IN ('generation', 'burst') AND id > $2::bigint), 0)::int AS spent,
         coalesce(sum(amount) FILTER (WHERE type = 'refund' AND id > $2::bigint AND (details ->> 'debitId')::bigint > $2::bigint), 0)::int AS refunded,
         coalesce(sum(amount) FILTER (WHERE type = 'downgrade' AND id > $2::bigint), 0)::int AS adjusted
       FROM credit_ledger WHERE account_id = $1`,
      [snapshot.accountId, boundary],
    );
    const carried = await client.query<{ rollover: number }>(
      `SELECT rollover FROM credit_cycles WHERE account_id = $1 ORDER BY cycle_start DESC LIMIT 1`,
      [snapshot.accountId],
    );
    const row = rows[0]!;
    // The running balance and the sum are two records of one truth; if they ever disagree the
    // ledger itself is damaged, which no snapshot repair can fix.
    if (row.last !== null && row.last !== row.available) {
      this.#log.fatal({ account: snapshot.accountId, sum: row.available, last: row.last }, 'ledger sum and running balance disagree');
      throw new Error(`ledger of ${snapshot.accountId} is inconsistent: entries sum to ${row.available}, last balance is ${row.last}`);
    }
    return { available: row.available, used: Math.max(0, row.spent - row.refunded), rollover: Math.max(0, (carried.rows[0]?.rollover ?? 0) + row.adjusted) };
  }

  /**
   * The user's credits as a player sees them, read without a lock on every frame. An account that
   * needs work first (not opened yet, its cycle over, a member not yet in its pool) is prepared
   * under the lock instead.
   */
  async view(userId: string): Promise<AccountView | null> {
    return (await this.views([userId])).get(userId) ?? null;
  }

  /**
   * `view` for many users in one query (the users that do not exist are missing from the answer);
   * an account that needs work first is prepared on its own, one after another, as `view` does. A
   * user whose preparation fails is missing too, unless every user asked failed: then that error
   * is thrown.
   */
  async views(userIds: readonly string[]): Promise<Map<string, AccountView>> {
    const read = await this.readViews(userIds);
    const views = new Map<string, AccountView>();
    let failure: unknown = null;
    for (const [userId, view] of read) {
      if (view !== unprepared) {
        views.set(userId, view);
        continue;
      }
      try {
        const prepared = await this.credits(userId);
        if (prepared !== null) views.set(userId, prepared);
      } catch (error) {
        failure = error;
        this.#log.warn({ err: error, user: userId }, "a user's credits could not be prepared for their view");
      }
    }
    if (failure !== null && views.size === 0) throw failure;
    return views;
  }

  /**
   * What one query says of each user's view: the view, or `unprepared` when the account needs work
   * under its lock first (not opened yet, its cycle over, a member not yet in its team's pool: `view`
   * does that work). Users that do not exist are missing from the answer.
   */
  async readViews(userIds: readonly string[]): Promise<Map<string, AccountView | typeof unprepared>> {
    const { rows } = await this.#pool.query<ViewRow>({
      name: 'credit_views',
      text: `SELECT u.id AS "userId", c.account_id AS "accountId", c.kind, c.available, c.used, c.rollover, c.cycle_start AS "cycleStart",
          c.cycle_end AS "cycleEnd", u.burst_until AS "burstUntil", t.unlimited, t.burst_price AS "burstPrice",
          (u.team IS NULL OR EXISTS (SELECT 1 FROM credit_pool_members m WHERE m.user_id = u.id)) AS joined
        FROM users u JOIN tiers t ON t.name = u.tier
        LEFT JOIN user_credits c ON c.account_id = CASE WHEN u.team IS NULL THEN u.id ELSE 'team:' || u.team END
        WHERE u.id = ANY($1::text[])`,
      values: [userIds],
    });
    const views = new Map<string, AccountView | typeof unprepared>();
    for (const row of rows) {
      if (row.accountId === null || !row.joined || row.cycleEnd.getTime() <= this.#now()) {
        views.set(row.userId, unprepared);
        continue;
      }
      views.set(row.userId, {
        accountId: row.accountId, kind: row.kind, available: row.available, used: row.used, rollover: row.rollover,
        cycleStart: row.cycleStart.toISOString(), cycleEnd: row.cycleEnd.toISOString(), ...this.#burstTerms(row),
      });
    }
    return views;
  }

  /** The user's credits with `ledgerBalance` summed from the ledger, opening the account when needed. */
  async credits(userId: string): Promise<(AccountView & { ledgerBalance: number }) | null> {
    return this.#transaction(async (client) => {
      const member = await this.#member(client, userId);
      if (member === null) return null;
      const burst = await client.query<{ burstUntil: Date | null }>(`SELECT burst_until AS "burstUntil" FROM users WHERE id = $1`, [userId]);
      const terms = this.#burstTerms({ burstUntil: burst.rows[0]?.burstUntil ?? null, unlimited: member.terms.unlimited, burstPrice: member.burstPrice });
      const snapshot = await this.#openAndLock(client, member);
      const sum = await client.query<{ total: number }>(`SELECT coalesce(sum(amount), 0)::int AS total FROM credit_ledger WHERE account_id = $1`, [snapshot.accountId]);
      return { ...stateOf(snapshot), ...terms, ledgerBalance: sum.rows[0]!.total };
    });
  }

  #burstTerms(row: { burstUntil: Date | null; unlimited: boolean; burstPrice: number }) {
    const running = row.burstUntil !== null && row.burstUntil.getTime() > this.#now();
    return { unlimited: row.unlimited, burstPrice: row.burstPrice, burstUntil: running ? row.burstUntil!.toISOString() : null };
  }

  /** The user's account's entries, newest first. */
  async entries(userId: string, limit: number): Promise<LedgerEntry[] | null> {
    const member = await this.#pool.query<{ team: string | null }>(`SELECT team FROM users WHERE id = $1`, [userId]);
    if (member.rows[0] === undefined) return null;
    const accountId = accountIdOf({ id: userId, team: member.rows[0].team });
    const { rows } = await this.#pool.query<LedgerEntry & { ts: Date }>(
      `SELECT id::text, ts, user_id AS "userId", type, amount, balance_after AS "balanceAfter", request_id AS "requestId", details
       FROM credit_ledger WHERE account_id = $1 ORDER BY id DESC LIMIT $2::int`,
      [accountId, limit],
    );
    return rows.map((row) => ({ ...row, ts: row.ts.toISOString() }));
  }

  /** Extends the user's burst by `minutes` from the later of now and its current end. */
  static async extendBurst(client: pg.PoolClient, userId: string, minutes: number): Promise<string> {
    const { rows } = await client.query<{ until: Date }>(
      `UPDATE users SET burst_until = greatest(coalesce(burst_until, now()), now()) + make_interval(mins => $2::int)
       WHERE id = $1 RETURNING burst_until AS until`,
      [userId, minutes],
    );
    return rows[0]!.until.toISOString();
  }

  /** Creates the ledger's monthly partitions `monthsAhead` ahead; returns how many were new. */
  async ensurePartitions(monthsAhead: number): Promise<number> {
    const { rows } = await this.#pool.query<{ created: number }>(`SELECT ensure_credit_ledger_partitions($1::int) AS created`, [monthsAhead]);
    return rows[0]?.created ?? 0;
  }

  /** Opens the user's account (at creation), so that the first cycle starts now. */
  async openAccount(userId: string): Promise<void> {
    await this.#transaction(async (client) => {
      const member = await this.#member(client, userId);
      if (member === null) throw new UnknownUserError(`user "${userId}" does not exist`);
      if (!member.terms.unlimited) await this.#openAndLock(client, member);
    });
  }
}

type DebitRow = {
  status: 'debited' | 'replayed' | 'mismatch' | 'insufficient' | 'prepare' | 'unknown_user';
  ledgerId: string | null;
  charged: number;
  balanceAfter: number | null;
  available: number | null;
  outcome: Record<string, unknown> | null;
};

/** What `credit_debit` is called with for a request: the stored idempotency key and the fingerprint of what must match on a retry. */
export function debitCallOf(request: DebitRequest): DebitCall {
  return {
    userId: request.userId,
    requestId: `${request.kind}:${request.requestId}`,
    kind: request.kind,
    amount: request.amount,
    fingerprint: fingerprint(request.kind, { amount: request.amount, ...(request.parameters ?? {}) }),
    details: request.details ?? {},
    outcome: request.outcome,
  };
}

export type DebitCall = {
  userId: string;
  requestId: string;
  kind: DebitKind;
  amount: number;
  fingerprint: string;
  details: Record<string, unknown>;
  outcome?: Record<string, unknown> | undefined;
};

function toDebitResult(row: DebitRow, amount: number): DebitResult {
  switch (row.status) {
    case 'debited':
    case 'replayed':
      return { status: 'debited', replayed: row.status === 'replayed', ledgerId: row.ledgerId, charged: row.charged, balanceAfter: row.balanceAfter, outcome: row.outcome ?? {} };
    case 'insufficient':
      return { status: 'insufficient', available: row.available ?? 0, required: amount };
    case 'mismatch':
      return { status: 'mismatch' };
    case 'unknown_user':
      return { status: 'unknown_user' };
    case 'prepare':
      throw new Error('a debit that needs preparing cannot be turned into a result');
  }
}

function stateOf(snapshot: Snapshot): CreditState {
  return {
    accountId: snapshot.accountId,
    kind: snapshot.kind,
    available: snapshot.available,
    used: snapshot.used,
    rollover: snapshot.rollover,
    cycleStart: new Date(snapshot.cycleStartMs).toISOString(),
    cycleEnd: new Date(snapshot.cycleEndMs).toISOString(),
  };
}
