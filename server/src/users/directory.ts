/**
 * Tiers and users: who may connect and what plan they are on. This module owns the `tiers` and
 * `users` tables. Credits themselves are not here; they live in the ledger.
 */
import type pg from 'pg';

export type Tier = { name: string; baseQuota: number; rolloverCap: number; unlimited: boolean };
export type User = { id: string; tier: string; tz: string; annual: boolean; team: string | null };
export type UserAccount = User & { baseQuota: number; rolloverCap: number; unlimited: boolean };

export const seedTiers: Tier[] = [
  { name: 'basic', baseQuota: 200, rolloverCap: 3, unlimited: false },
  { name: 'premium', baseQuota: 600, rolloverCap: 3, unlimited: false },
  { name: 'unlimited', baseQuota: 0, rolloverCap: 0, unlimited: true },
];
export const demoUsers: Array<Pick<User, 'id' | 'tier'>> = [
  { id: 'demo', tier: 'basic' },
  { id: 'demo-dj', tier: 'premium' },
];

export class TierNotFoundError extends Error {
  override readonly name = 'TierNotFoundError';
}

const tierColumns = `name, base_quota AS "baseQuota", rollover_cap::float8 AS "rolloverCap", unlimited`;

export class UserDirectory {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Creates the standard tiers and the demo users unless they exist (operator edits win). */
  async seed(): Promise<void> {
    for (const tier of seedTiers) {
      await this.#pool.query(
        `INSERT INTO tiers (name, base_quota, rollover_cap, unlimited) VALUES ($1, $2::int, $3::numeric, $4::boolean)
         ON CONFLICT (name) DO NOTHING`,
        [tier.name, tier.baseQuota, tier.rolloverCap, tier.unlimited],
      );
    }
    for (const user of demoUsers) {
      await this.#pool.query(`INSERT INTO users (id, tier) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [user.id, user.tier]);
    }
  }

  async getAccount(userId: string): Promise<UserAccount | null> {
    const { rows } = await this.#pool.query<UserAccount>(
      `SELECT u.id, u.tier, u.tz, u.annual, u.team, t.base_quota AS "baseQuota", t.rollover_cap::float8 AS "rolloverCap", t.unlimited
       FROM users u JOIN tiers t ON t.name = u.tier WHERE u.id = $1`,
      [userId],
    );
    return rows[0] ?? null;
  }

  async getTier(name: string): Promise<Tier | null> {
    const { rows } = await this.#pool.query<Tier>(`SELECT ${tierColumns} FROM tiers WHERE name = $1`, [name]);
    return rows[0] ?? null;
  }

  /** Creates or replaces a tier; `created` tells which. */
  async putTier(tier: Tier): Promise<{ tier: Tier; created: boolean }> {
    const { rows } = await this.#pool.query<Tier & { created: boolean }>(
      `INSERT INTO tiers (name, base_quota, rollover_cap, unlimited) VALUES ($1, $2::int, $3::numeric, $4::boolean)
       ON CONFLICT (name) DO UPDATE SET base_quota = EXCLUDED.base_quota, rollover_cap = EXCLUDED.rollover_cap,
         unlimited = EXCLUDED.unlimited, updated_at = now()
       RETURNING ${tierColumns}, (xmax = 0) AS created`,
      [tier.name, tier.baseQuota, tier.rolloverCap, tier.unlimited],
    );
    const { created, ...stored } = rows[0]!;
    return { tier: stored, created };
  }

  /** Creates or replaces a user; throws `TierNotFoundError` for an unknown tier. */
  async putUser(user: User): Promise<{ user: User; created: boolean }> {
    try {
      const { rows } = await this.#pool.query<User & { created: boolean }>(
        `INSERT INTO users (id, tier, tz, annual, team) VALUES ($1, $2, $3, $4::boolean, $5)
         ON CONFLICT (id) DO UPDATE SET tier = EXCLUDED.tier, tz = EXCLUDED.tz, annual = EXCLUDED.annual,
           team = EXCLUDED.team, updated_at = now()
         RETURNING id, tier, tz, annual, team, (xmax = 0) AS created`,
        [user.id, user.tier, user.tz, user.annual, user.team],
      );
      const { created, ...stored } = rows[0]!;
      return { user: stored, created };
    } catch (error) {
      if ((error as { code?: string }).code === '23503') throw new TierNotFoundError(`tier "${user.tier}" does not exist`);
      throw error;
    }
  }
}
