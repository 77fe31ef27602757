/**
 * Tiers and users: who may connect and what plan they are on. This module owns the `tiers` and
 * `users` tables. Credits themselves are not here; they live in the ledger.
 */
import type pg from 'pg';
import { BatchedReads } from '../db/batchedReads.js';
import { limits } from '../limits.js';
import { TextPool } from '../texts.js';

export type Tier = {
  name: string;
  baseQuota: number;
  rolloverCap: number;
  unlimited: boolean;
  annualRolloverCap: number;
  regionMultipliers: Record<string, number>;
  burstPrice: number;
};
export type User = { id: string; tier: string; tz: string; annual: boolean; team: string | null; region: string | null; anchorDay: number };

/** What a user id is: 1-128 printable ASCII characters (the admin API creates no other, and a token names no other). */
export const userIdPattern = /^[\x21-\x7e]{1,128}$/;
export type UserAccount = User & { baseQuota: number; rolloverCap: number; unlimited: boolean; burstPrice: number };

/** Two reads of an account agree on every field (accounts hold plain values only). */
export function sameAccount(a: UserAccount, b: UserAccount): boolean {
  if (a === b) return true;
  const keys = Object.keys(a) as Array<keyof UserAccount>;
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(a[key], b[key]));
}

const tierDefaults = { annualRolloverCap: 6, regionMultipliers: {}, burstPrice: 5 };
export const seedTiers: Tier[] = [
  { name: 'basic', baseQuota: 200, rolloverCap: 3, unlimited: false, ...tierDefaults },
  { name: 'premium', baseQuota: 600, rolloverCap: 3, unlimited: false, ...tierDefaults },
  { name: 'unlimited', baseQuota: 0, rolloverCap: 0, unlimited: true, ...tierDefaults },
];
export const demoUsers: Array<Pick<User, 'id' | 'tier'>> = [
  { id: 'demo', tier: 'basic' },
  { id: 'demo-dj', tier: 'premium' },
];

export class TierNotFoundError extends Error {
  override readonly name = 'TierNotFoundError';
}

const tierColumns = `name, base_quota AS "baseQuota", rollover_cap::float8 AS "rolloverCap", unlimited,
  annual_rollover_cap::float8 AS "annualRolloverCap", region_multipliers AS "regionMultipliers", burst_price AS "burstPrice"`;
const userColumns = `id, tier, tz, annual, team, region, anchor_day AS "anchorDay"`;

export class UserDirectory {
  readonly #pool: pg.Pool;
  readonly #texts: TextPool;
  readonly #accounts: BatchedReads<string, UserAccount | null>;

  /** `texts` pools the tier, zone and region names of the accounts read (sessions hold them). */
  constructor(pool: pg.Pool, texts = new TextPool(limits.pooledTextsMax)) {
    this.#pool = pool;
    this.#texts = texts;
    this.#accounts = new BatchedReads((userIds) => this.#readAccounts(userIds), null, limits.accountReads);
  }

  /** Creates the standard tiers and the demo users unless they exist (operator edits win); returns new users. */
  async seed(): Promise<string[]> {
    for (const tier of seedTiers) {
      await this.#pool.query(
        `INSERT INTO tiers (name, base_quota, rollover_cap, unlimited) VALUES ($1, $2::int, $3::numeric, $4::boolean)
         ON CONFLICT (name) DO NOTHING`,
        [tier.name, tier.baseQuota, tier.rolloverCap, tier.unlimited],
      );
    }
    const created: string[] = [];
    for (const user of demoUsers) {
      const result = await this.#pool.query(`INSERT INTO users (id, tier) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [user.id, user.tier]);
      if (result.rowCount === 1) created.push(user.id);
    }
    return created;
  }

  /** The user's account (their tier's terms with them), or null when no such user exists. */
  getAccount(userId: string): Promise<UserAccount | null> {
    return this.#accounts.load(userId);
  }

  /** One query for the accounts asked for at one moment (see `BatchedReads`). */
  async #readAccounts(userIds: readonly string[]): Promise<Map<string, UserAccount>> {
    const { rows } = await this.#pool.query<UserAccount>({
      name: 'user_accounts',
      text: `SELECT u.id, u.tier, u.tz, u.annual, u.team, u.region, u.anchor_day AS "anchorDay", t.base_quota AS "baseQuota",
         t.rollover_cap::float8 AS "rolloverCap", t.unlimited, t.burst_price AS "burstPrice"
       FROM users u JOIN tiers t ON t.name = u.tier WHERE u.id = ANY($1::text[])`,
      values: [userIds],
    });
    // A session keeps its account for its lifetime: one compact object with its few names shared,
    // rather than the driver's row (its fields added one by one, so held in a separate store).
    const texts = this.#texts;
    const accounts = new Map<string, UserAccount>();
    for (const row of rows) {
      accounts.set(row.id, {
        id: row.id, tier: texts.of(row.tier), tz: texts.of(row.tz), annual: row.annual, team: row.team, region: texts.of(row.region),
        anchorDay: row.anchorDay, baseQuota: row.baseQuota, rolloverCap: row.rolloverCap, unlimited: row.unlimited, burstPrice: row.burstPrice,
      });
    }
    return accounts;
  }

  async getTier(name: string): Promise<Tier | null> {
    const { rows } = await this.#pool.query<Tier>(`SELECT ${tierColumns} FROM tiers WHERE name = $1`, [name]);
    return rows[0] ?? null;
  }

  /** Creates or replaces a tier; `created` tells which. */
  async putTier(tier: Tier): Promise<{ tier: Tier; created: boolean }> {
    const { rows } = await this.#pool.query<Tier & { created: boolean }>(
      `INSERT INTO tiers (name, base_quota, rollover_cap, unlimited, annual_rollover_cap, region_multipliers, burst_price)
       VALUES ($1, $2::int, $3::numeric, $4::boolean, $5::numeric, $6::jsonb, $7::int)
       ON CONFLICT (name) DO UPDATE SET base_quota = EXCLUDED.base_quota, rollover_cap = EXCLUDED.rollover_cap,
         unlimited = EXCLUDED.unlimited, annual_rollover_cap = EXCLUDED.annual_rollover_cap,
         region_multipliers = EXCLUDED.region_multipliers, burst_price = EXCLUDED.burst_price, updated_at = now()
       RETURNING ${tierColumns}, (xmax = 0) AS created`,
      [tier.name, tier.baseQuota, tier.rolloverCap, tier.unlimited, tier.annualRolloverCap, JSON.stringify(tier.regionMultipliers), tier.burstPrice],
    );
    const { created, ...stored } = rows[0]!;
    return { tier: stored, created };
  }

  async getUser(userId: string): Promise<User | null> {
    const { rows } = await this.#pool.query<User>(`SELECT ${userColumns} FROM users WHERE id = $1`, [userId]);
    return rows[0] ?? null;
  }

  /** Creates a user; throws `TierNotFoundError` for an unknown tier. The tier is set here only. */
  async createUser(user: User): Promise<User> {
    try {
      const { rows } = await this.#pool.query<User>(
        `INSERT INTO users (id, tier, tz, annual, team, region, anchor_day) VALUES ($1, $2, $3, $4::boolean, $5, $6, $7::smallint)
         RETURNING ${userColumns}`,
        [user.id, user.tier, user.tz, user.annual, user.team, user.region, user.anchorDay],
      );
      return rows[0]!;
    } catch (error) {
      if ((error as { code?: string }).code === '23503') throw new TierNotFoundError(`tier "${user.tier}" does not exist`);
      throw error;
    }
  }

  /** Updates a user's profile (not tier or team: those move credits and go through the ledger). */
  async updateProfile(userId: string, profile: Pick<User, 'tz' | 'annual' | 'region'>): Promise<User | null> {
    const { rows } = await this.#pool.query<User>(
      `UPDATE users SET tz = $2, annual = $3::boolean, region = $4, updated_at = now() WHERE id = $1 RETURNING ${userColumns}`,
      [userId, profile.tz, profile.annual, profile.region],
    );
    return rows[0] ?? null;
  }
}
