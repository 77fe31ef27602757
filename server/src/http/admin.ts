/**
 * The admin API (`/v1/admin/*`), behind `Authorization: Bearer ADMIN_TOKEN`. JSON in and out;
 * errors are `{error: {code, message}}` with 400 / 401 / 404 / 409.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '@titrate/shared';
import { isTimeZone } from '../users/cycle.js';
import { TierNotFoundError, type UserDirectory } from '../users/directory.js';
import { failure, json, type HttpRequest, type HttpResponse } from './types.js';

const TierBody = z.object({
  baseQuota: z.number().int().min(0).max(10_000_000),
  rolloverCap: z.number().min(0).max(100).optional(),
  unlimited: z.boolean().optional(),
});
const UserBody = z.object({
  tier: z.string().min(1).max(64),
  tz: z.string().min(1).max(64).refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Berlin' }).optional(),
  annual: z.boolean().optional(),
  team: z.string().min(1).max(128).nullable().optional(),
});
const tierNamePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const userIdPattern = /^[\x21-\x7e]{1,128}$/;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class AdminRoutes {
  readonly #users: UserDirectory;
  readonly #tokenDigest: Buffer;

  constructor(users: UserDirectory, adminToken: string) {
    this.#users = users;
    this.#tokenDigest = digest(adminToken);
  }

  /** Compares digests in constant time, so the token's length and content do not leak. */
  authorized(request: HttpRequest): boolean {
    const match = /^Bearer\s+(.+)$/i.exec(request.header('authorization'));
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), this.#tokenDigest);
  }

  async handle(request: HttpRequest, segments: string[]): Promise<HttpResponse> {
    if (!this.authorized(request)) return failure(401, 'unauthorized', 'admin routes need Authorization: Bearer ADMIN_TOKEN');
    const [collection, id, extra] = segments;
    if (id === undefined || extra !== undefined) return failure(404, 'not_found', `no admin route ${request.method} ${request.path}`);
    if (collection === 'tiers' && request.method === 'PUT') return this.#putTier(id, request);
    if (collection === 'users' && request.method === 'PUT') return this.#putUser(id, request);
    if (collection === 'users' && request.method === 'GET') return this.#getUser(id);
    if (collection === 'tiers' && request.method === 'GET') return this.#getTier(id);
    return failure(404, 'not_found', `no admin route ${request.method} ${request.path}`);
  }

  async #putTier(name: string, request: HttpRequest): Promise<HttpResponse> {
    if (!tierNamePattern.test(name)) return failure(400, 'invalid_name', 'tier names are 1-64 characters: a-z, 0-9, "_" and "-"');
    const body = parseBody(request, TierBody);
    if (!body.ok) return body.response;
    const { tier, created } = await this.#users.putTier({
      name, baseQuota: body.value.baseQuota, rolloverCap: body.value.rolloverCap ?? 3, unlimited: body.value.unlimited ?? false,
    });
    return json(created ? 201 : 200, { tier });
  }

  async #getTier(name: string): Promise<HttpResponse> {
    const tier = await this.#users.getTier(name);
    return tier === null ? failure(404, 'tier_not_found', `tier "${name}" does not exist`) : json(200, { tier });
  }

  async #putUser(id: string, request: HttpRequest): Promise<HttpResponse> {
    if (!userIdPattern.test(id)) return failure(400, 'invalid_id', 'user ids are 1-128 printable ASCII characters');
    const body = parseBody(request, UserBody);
    if (!body.ok) return body.response;
    try {
      const { user, created } = await this.#users.putUser({
        id, tier: body.value.tier, tz: body.value.tz ?? 'UTC', annual: body.value.annual ?? false, team: body.value.team ?? null,
      });
      return json(created ? 201 : 200, { user });
    } catch (error) {
      if (error instanceof TierNotFoundError) return failure(404, 'tier_not_found', error.message);
      throw error;
    }
  }

  async #getUser(id: string): Promise<HttpResponse> {
    const account = await this.#users.getAccount(id);
    return account === null ? failure(404, 'user_not_found', `user "${id}" does not exist`) : json(200, { user: account });
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
