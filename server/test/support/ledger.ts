/** A real ledger on its own migrated database, with a clock the test moves. */
import path from 'node:path';
import type pg from 'pg';
import { pino } from 'pino';
import type { Test } from 'tap';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrator.js';
import { accountLockStatement, Ledger } from '../../src/ledger/ledger.js';
import { localDate } from '../../src/ledger/cycle.js';
import { repositoryRoot } from '../../src/main.js';
import { UserDirectory, type Tier, type User } from '../../src/users/directory.js';
import { testDatabaseUrl } from './services.js';

export type LedgerFixture = Awaited<ReturnType<typeof ledgerFixture>>;

export async function ledgerFixture(t: Test, startIso = '2026-11-21T12:00:00Z') {
  const log = pino({ level: 'silent' });
  const pool = createPool(await testDatabaseUrl(t), log);
  t.teardown(() => pool.end());
  await migrate(pool, path.join(repositoryRoot, 'migrations'), log);
  const clock = { nowMs: Date.parse(startIso) };
  let drifts = 0;
  const ledger = new Ledger(pool, log, { now: () => clock.nowMs, onDrift: () => (drifts += 1) });
  const users = new UserDirectory(pool);
  await users.seed();
  const fixture = {
    pool,
    ledger,
    users,
    clock,
    drifts: () => drifts,
    async tier(name: string, terms: Partial<Tier> & { baseQuota: number }) {
      await users.putTier({ name, rolloverCap: 3, annualRolloverCap: 6, unlimited: false, regionMultipliers: {}, burstPrice: 5, ...terms });
    },
    async user(id: string, tier: string, extra: Partial<User> = {}) {
      const tz = extra.tz ?? 'UTC';
      await users.createUser({ id, tier, tz, annual: false, team: null, region: null, anchorDay: localDate(clock.nowMs, tz).day, ...extra });
      await ledger.openAccount(id);
    },
    async balance(accountId: string) {
      const { rows } = await pool.query<{ sum: number; last: number | null; snapshot: number }>(
        `SELECT (SELECT coalesce(sum(amount), 0)::int FROM credit_ledger WHERE account_id = $1) AS sum,
                (SELECT balance_after FROM credit_ledger WHERE account_id = $1 ORDER BY id DESC LIMIT 1) AS last,
                (SELECT available FROM user_credits WHERE account_id = $1) AS snapshot`,
        [accountId],
      );
      return rows[0]!;
    },
    /**
     * Runs `during` while another session holds the accounts' locks, as a move to another tier
     * does, with each user of `moves` moved to its tier but not committed yet; commits the moves
     * once `during` waits for one of those locks (it fails if `during` never waits, or ends first),
     * and returns what `during` returns.
     */
    async whileTiersMove<T>(accountIds: string[], moves: Record<string, string>, during: () => Promise<T>): Promise<T> {
      const holder = await pool.connect();
      let committed = false;
      try {
        await holder.query('BEGIN');
        for (const accountId of [...accountIds].sort()) await holder.query(accountLockStatement, [accountId]);
        for (const [userId, tier] of Object.entries(moves)) await holder.query(`UPDATE users SET tier = $2 WHERE id = $1`, [userId, tier]);
        let settled = false;
        const result = during();
        result.then(() => (settled = true), () => (settled = true));
        await untilWaitingForLocks(pool);
        if (settled) throw new Error('it ended before the moves committed');
        await holder.query('COMMIT');
        committed = true;
        return await result;
      } finally {
        // A connection whose transaction may still be open is closed, not handed back to the pool.
        holder.release(!committed);
      }
    },
    async entryTypes(accountId: string) {
      const { rows } = await pool.query<{ type: string; amount: number }>(`SELECT type, amount FROM credit_ledger WHERE account_id = $1 ORDER BY id`, [accountId]);
      return rows.map((row) => `${row.type} ${row.amount}`);
    },
  };
  return fixture;
}

export const days = (count: number) => count * 86_400_000;

/** Resolves once `sessions` sessions of the database wait for an advisory lock; fails after 10 s. */
export async function untilWaitingForLocks(pool: pg.Pool, sessions = 1): Promise<void> {
  for (let attempt = 0; attempt < 1_000; attempt += 1) {
    const { rows } = await pool.query<{ waiting: number }>(`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
    if (rows[0]!.waiting >= sessions) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`fewer than ${sessions} sessions waited for an advisory lock within 10 s`);
}
