/**
 * The admin API (`/v1/admin/*`), behind `Authorization: Bearer ADMIN_TOKEN`. JSON in and out;
 * errors are `{error: {code, message}}` with 400 / 401 / 404 / 409.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '@titrate/shared';
import { isTimeZone, localDate } from '../ledger/cycle.js';
import type { Ledger } from '../ledger/ledger.js';
import { TierNotFoundError, type UserDirectory } from '../users/directory.js';
import { failure, json, type HttpRequest, type HttpResponse } from './types.js';

const regionPattern = /^[A-Za-z0-9_-]{1,16}$/;
const TierBody = z.object({
  baseQuota: z.number().int().min(0).max(10_000_000),
  rolloverCap: z.number().min(0).max(100).optional(),
  annualRolloverCap: z.number().min(0).max(100).optional(),
  unlimited: z.boolean().optional(),
  regionMultipliers: z.record(z.string().regex(regionPattern), z.number().min(0).max(100)).optional(),
  burstPrice: z.number().int().min(1).max(1_000_000).optional(),
});
const UserBody = z.object({
  tier: z.string().min(1).max(64),
  tz: z.string().min(1).max(64).refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Berlin' }).optional(),
  annual: z.boolean().optional(),
  team: z.string().regex(/^[\x21-\x7e]{1,120}$/, 'must be 1-120 printable ASCII characters').nullable().optional(),
  region: z.string().regex(regionPattern).nullable().optional(),
  anchorDay: z.number().int().min(1).max(31).optional(),
});
const GrantBody = z.object({
  amount: z.number().int().min(1).max(10_000_000),
  id: z.string().min(1).max(128),
  reason: z.string().max(500).optional(),
});
const TierChangeBody = z.object({ tier: z.string().min(1).max(64) });
const CyclesBody = z.object({ asOf: z.iso.datetime({ offset: true }) });
const RefundBody = z.object({ debitId: z.string().regex(/^\d{1,19}$/), reason: z.string().max(500).optional() });
const tierNamePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const userIdPattern = /^[\x21-\x7e]{1,128}$/;
const ledgerLimitMax = 500;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

type Handler = (request: HttpRequest, id: string) => Promise<HttpResponse>;

export class AdminRoutes {
  readonly #users: UserDirectory;
  readonly #ledger: Ledger;
  readonly #tokenDigest: Buffer;
  readonly #now: () => number;
  readonly #routes: Record<string, Handler>;

  constructor(users: UserDirectory, ledger: Ledger, adminToken: string, now: () => number = Date.now) {
    this.#users = users;
    this.#ledger = ledger;
    this.#tokenDigest = digest(adminToken);
    this.#now = now;
    // "METHOD collection[/:id][/sub]" → handler
    this.#routes = {
      'PUT tiers/:id': (request, id) => this.#putTier(id, request),
      'GET tiers/:id': (_request, id) => this.#getTier(id),
      'PUT users/:id': (request, id) => this.#putUser(id, request),
      'GET users/:id': (_request, id) => this.#getUser(id),
      'POST users/:id/grants': (request, id) => this.#grant(id, request),
      'GET users/:id/credits': (_request, id) => this.#credits(id),
      'GET users/:id/ledger': (request, id) => this.#entries(id, request),
      'PUT users/:id/tier': (request, id) => this.#changeTier(id, request),
      'POST cycles/run': (request) => this.#runCycles(request),
      'POST reconcile': () => this.#reconcile(),
      'POST refunds': (request) => this.#refund(request),
    };
  }

  /** Compares digests in constant time, so the token's length and content do not leak. */
  authorized(request: HttpRequest): boolean {
    const match = /^Bearer\s+(.+)$/i.exec(request.header('authorization'));
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), this.#tokenDigest);
  }

  async handle(request: HttpRequest, segments: string[]): Promise<HttpResponse> {
    if (!this.authorized(request)) return failure(401, 'unauthorized', 'admin routes need Authorization: Bearer ADMIN_TOKEN');
    const [collection = '', id, sub, extra] = segments;
    const key = id === undefined ? `${request.method} ${collection}` : sub === undefined ? `${request.method} ${collection}/:id` : `${request.method} ${collection}/:id/${sub}`;
    const handler = this.#routes[`${request.method} ${segments.join('/')}`] ?? (extra === undefined ? this.#routes[key] : undefined);
    if (handler === undefined) return failure(404, 'not_found', `no admin route ${request.method} ${request.path}`);
    if (collection === 'users' && id !== undefined && !userIdPattern.test(id)) return failure(400, 'invalid_id', 'user ids are 1-128 printable ASCII characters');
    // Team pools are the accounts named `team:<name>`; a user of that name would share one.
    if (collection === 'users' && id !== undefined && id.startsWith('team:')) return failure(400, 'invalid_id', 'user ids cannot start with "team:"');
    return handler(request, id ?? '');
  }

  async #putTier(name: string, request: HttpRequest): Promise<HttpResponse> {
    if (!tierNamePattern.test(name)) return failure(400, 'invalid_name', 'tier names are 1-64 characters: a-z, 0-9, "_" and "-"');
    const body = parseBody(request, TierBody);
    if (!body.ok) return body.response;
    const { tier, created } = await this.#users.putTier({
      name,
      baseQuota: body.value.baseQuota,
      rolloverCap: body.value.rolloverCap ?? 3,
      annualRolloverCap: body.value.annualRolloverCap ?? 6,
      unlimited: body.value.unlimited ?? false,
      regionMultipliers: body.value.regionMultipliers ?? {},
      burstPrice: body.value.burstPrice ?? 5,
    });
    return json(created ? 201 : 200, { tier });
  }

  async #getTier(name: string): Promise<HttpResponse> {
    const tier = await this.#users.getTier(name);
    return tier === null ? failure(404, 'tier_not_found', `tier "${name}" does not exist`) : json(200, { tier });
  }

  /**
   * Creates a user (opening their credit account with the tier's base quota) or updates one.
   * For an existing user a new tier goes through the ledger like `PUT …/tier`; moving a user
   * between team pools would move credits between accounts and is refused.
   */
  async #putUser(id: string, request: HttpRequest): Promise<HttpResponse> {
    const body = parseBody(request, UserBody);
    if (!body.ok) return body.response;
    const existing = await this.#users.getUser(id);
    const tz = body.value.tz ?? existing?.tz ?? 'UTC';
    if (existing === null) {
      try {
        const user = await this.#users.createUser({
          id, tier: body.value.tier, tz, annual: body.value.annual ?? false, team: body.value.team ?? null,
          region: body.value.region ?? null, anchorDay: body.value.anchorDay ?? localDate(this.#now(), tz).day,
        });
        await this.#ledger.openAccount(id);
        return json(201, { user });
      } catch (error) {
        if (error instanceof TierNotFoundError) return failure(404, 'tier_not_found', error.message);
        throw error;
      }
    }
    if (body.value.team !== undefined && (body.value.team ?? null) !== existing.team) {
      return failure(409, 'team_change_unsupported', 'a user cannot move between credit pools; create a new user instead');
    }
    if (body.value.anchorDay !== undefined && body.value.anchorDay !== existing.anchorDay) {
      return failure(409, 'anchor_change_unsupported', 'the cycle anchor day is fixed when the user is created');
    }
    if (body.value.tier !== existing.tier) {
      const changed = await this.#ledger.changeTier(id, body.value.tier);
      if (changed.status === 'unknown_tier') return failure(404, 'tier_not_found', `tier "${body.value.tier}" does not exist`);
    }
    const user = await this.#users.updateProfile(id, { tz, annual: body.value.annual ?? existing.annual, region: body.value.region === undefined ? existing.region : body.value.region });
    return json(200, { user });
  }

  async #getUser(id: string): Promise<HttpResponse> {
    const account = await this.#users.getAccount(id);
    return account === null ? failure(404, 'user_not_found', `user "${id}" does not exist`) : json(200, { user: account });
  }

  async #grant(userId: string, request: HttpRequest): Promise<HttpResponse> {
    const body = parseBody(request, GrantBody);
    if (!body.ok) return body.response;
    const result = await this.#ledger.grant(userId, body.value.amount, body.value.id, body.value.reason ?? null);
    if (result.status === 'unknown_user') return failure(404, 'user_not_found', `user "${userId}" does not exist`);
    if (result.status === 'mismatch') return failure(409, 'idempotency_mismatch', `grant id "${body.value.id}" was already used with another amount`);
    return json(result.replayed ? 200 : 201, { grant: { id: body.value.id, amount: body.value.amount, ledgerId: result.ledgerId, balanceAfter: result.balanceAfter, replayed: result.replayed } });
  }

  async #credits(userId: string): Promise<HttpResponse> {
    const credits = await this.#ledger.credits(userId);
    if (credits === null) return failure(404, 'user_not_found', `user "${userId}" does not exist`);
    return json(200, credits);
  }

  async #entries(userId: string, request: HttpRequest): Promise<HttpResponse> {
    const limitText = request.query.get('limit');
    const limit = limitText === null ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > ledgerLimitMax) return failure(400, 'invalid_limit', `limit must be an integer from 1 to ${ledgerLimitMax}`);
    const entries = await this.#ledger.entries(userId, limit);
    if (entries === null) return failure(404, 'user_not_found', `user "${userId}" does not exist`);
    return json(200, { entries });
  }

  async #changeTier(userId: string, request: HttpRequest): Promise<HttpResponse> {
    const body = parseBody(request, TierChangeBody);
    if (!body.ok) return body.response;
    const result = await this.#ledger.changeTier(userId, body.value.tier);
    if (result.status === 'unknown_user') return failure(404, 'user_not_found', `user "${userId}" does not exist`);
    if (result.status === 'unknown_tier') return failure(404, 'tier_not_found', `tier "${body.value.tier}" does not exist`);
    return json(200, { change: result });
  }

  async #runCycles(request: HttpRequest): Promise<HttpResponse> {
    const body = parseBody(request, CyclesBody);
    if (!body.ok) return body.response;
    return json(200, await this.#ledger.runCycles(Date.parse(body.value.asOf)));
  }

  async #reconcile(): Promise<HttpResponse> {
    return json(200, await this.#ledger.reconcile());
  }

  async #refund(request: HttpRequest): Promise<HttpResponse> {
    const body = parseBody(request, RefundBody);
    if (!body.ok) return body.response;
    const refund = await this.#ledger.refund(body.value.debitId, body.value.reason ?? 'operator');
    if (refund === null) return failure(404, 'debit_not_found', `ledger entry ${body.value.debitId} is not a debit`);
    return json(refund.replayed ? 200 : 201, { refund });
  }
}

function parseBody<T>(request: HttpRequest, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; response: HttpResponse } {
  if (request.body === null || request.body.byteLength === 0) return { ok: false, response: failure(400, 'invalid_body', 'a JSON body is required') };
  let value: unknown;
  try {
    value = JSON.parse(request.body.toString('utf8'));
  } catch {
    return { ok: false, response: failure(400, 'invalid_json', 'the body is not valid JSON') };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, response: failure(400, 'invalid_body', describeIssues(parsed.error)) };
  return { ok: true, value: parsed.data };
}
