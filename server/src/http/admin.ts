/**
 * The admin API (`/v1/admin/*`), behind `Authorization: Bearer ADMIN_TOKEN`. JSON in and out;
 * errors are `{error: {code, message}}` with 400 / 401 / 404 / 409 (413 for a body too large).
 *
 * The one route that takes more than JSON is `POST /v1/admin/frames`, which adds an operator's
 * images to the pantry: multipart form data (any number of file parts up to a bound, labels as
 * text fields or one `metadata` JSON field), or one raw image body with its labels in the query
 * string or the `x-frame-metadata` header. Its body may be large, so the gateway asks `admit`
 * first and reads that much only for a request that carries the admin token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import busboy from 'busboy';
import { z } from 'zod';
import { describeIssues, textProblem } from '@titrate/shared';
import { isTimeZone, localDate } from '../ledger/cycle.js';
import type { Ledger } from '../ledger/ledger.js';
import { limits } from '../limits.js';
import { parseFrameLabels, PantryIngestError, type FrameLabels, type IngestFailureCode, type PantryIngest } from '../pantry/ingest.js';
import type { FrameRow } from '../pantry/store.js';
import { TierNotFoundError, userIdPattern, type UserDirectory } from '../users/directory.js';
import type { Admission, HttpRequestHead } from './routes.js';
import { failure, json, type HttpRequest, type HttpResponse } from './types.js';

const regionPattern = /^[A-Za-z0-9_-]{1,16}$/;
const TierBody = z
  .object({
    baseQuota: z.number().int().min(0).max(limits.creditQuotaPerMemberMax),
    rolloverCap: z.number().min(0).max(100).optional(),
    annualRolloverCap: z.number().min(0).max(100).optional(),
    unlimited: z.boolean().optional(),
    regionMultipliers: z.record(z.string().regex(regionPattern), z.number().min(0).max(100)).optional(),
    burstPrice: z.number().int().min(1).max(1_000_000).optional(),
  })
  .refine((tier) => Object.values(tier.regionMultipliers ?? {}).every((multiplier) => tier.baseQuota * multiplier <= limits.creditQuotaPerMemberMax), {
    message: `baseQuota times a region's multiplier must be at most ${limits.creditQuotaPerMemberMax} credits a month`,
    path: ['regionMultipliers'],
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
  amount: z.number().int().min(1).max(limits.creditGrantMax),
  id: z.string().min(1).max(128),
  reason: z.string().max(500).optional(),
});
const TierChangeBody = z.object({ tier: z.string().min(1).max(64) });
const CyclesBody = z.object({ asOf: z.iso.datetime({ offset: true }) });
const RefundBody = z.object({ debitId: z.string().regex(/^\d{1,19}$/), reason: z.string().max(500).optional() });
const tierNamePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const invalidTierName = () => failure(400, 'invalid_name', 'tier names are 1-64 characters: a-z, 0-9, "_" and "-"');
const ledgerLimitMax = 500;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

type Handler = (request: HttpRequest, id: string) => Promise<HttpResponse>;

/** The pantry's admin side: uploads, the coverage report, and a fill run on demand. */
export type PantryAdmin = { ingest: PantryIngest; coverage: () => Promise<unknown>; fill: () => Promise<unknown> };

/** The bandit's admin side: its statistics per segment and arm, and a rebuild from the decision log. */
export type BanditAdmin = { segments: () => Promise<unknown>; rebuild: (sinceDays: number) => Promise<unknown> };

const RebuildBody = z.object({ sinceDays: z.number().int().min(1).max(limits.decisionRetentionDays).optional() });

export class AdminRoutes {
  readonly #users: UserDirectory;
  readonly #ledger: Ledger;
  readonly #tokenDigest: Buffer;
  readonly #now: () => number;
  readonly #ingest: PantryIngest | null;
  readonly #pantry: PantryAdmin | null;
  readonly #bandit: BanditAdmin | null;
  readonly #routes: Record<string, Handler>;

  /** Without `pantry`, frame uploads and the pantry routes answer 404; without `bandit`, the bandit routes. */
  constructor(
    users: UserDirectory,
    ledger: Ledger,
    adminToken: string,
    now: () => number = Date.now,
    pantry: PantryAdmin | null = null,
    bandit: BanditAdmin | null = null,
  ) {
    this.#users = users;
    this.#ledger = ledger;
    this.#tokenDigest = digest(adminToken);
    this.#now = now;
    this.#ingest = pantry?.ingest ?? null;
    this.#pantry = pantry;
    this.#bandit = bandit;
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
      'POST frames': (request) => this.#addFrames(request),
      'GET pantry/coverage': async () => (this.#pantry === null ? failure(404, 'not_found', 'this server has no pantry') : json(200, await this.#pantry.coverage())),
      'POST pantry/fill': async () => (this.#pantry === null ? failure(404, 'not_found', 'this server has no pantry') : json(200, await this.#pantry.fill())),
      'GET bandit/segments': async () => (this.#bandit === null ? failure(404, 'not_found', 'this server has no bandit') : json(200, await this.#bandit.segments())),
      'POST bandit/rebuild': (request) => this.#rebuildBandit(request),
      'POST gc': async () => collectGarbage(),
    };
  }

  /**
   * Before the body is read: a request without the admin token is answered 401 unread (nobody
   * gets to make the server buffer megabytes before proving who they are); a frame upload may
   * send up to `frameUploadBytesMax`, every other admin body `adminBodyBytesMax`.
   */
  admit(request: HttpRequestHead, segments: string[]): Admission {
    if (!this.authorized(request)) return { refusal: unauthorized() };
    const upload = request.method === 'POST' && segments.length === 1 && segments[0] === 'frames';
    return { bodyBytesMax: upload ? limits.frameUploadBytesMax : limits.adminBodyBytesMax };
  }

  /** Compares digests in constant time, so the token's length and content do not leak. */
  authorized(request: Pick<HttpRequest, 'header'>): boolean {
    const match = /^Bearer\s+(.+)$/i.exec(request.header('authorization'));
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), this.#tokenDigest);
  }

  async handle(request: HttpRequest, segments: string[]): Promise<HttpResponse> {
    if (!this.authorized(request)) return unauthorized();
    const [collection = '', id, sub, extra] = segments;
    const key = id === undefined ? `${request.method} ${collection}` : sub === undefined ? `${request.method} ${collection}/:id` : `${request.method} ${collection}/:id/${sub}`;
    const handler = this.#routes[`${request.method} ${segments.join('/')}`] ?? (extra === undefined ? this.#routes[key] : undefined);
    if (handler === undefined) return failure(404, 'not_found', `no admin route ${request.method} ${request.path}`);
    if (collection === 'users' && id !== undefined && !userIdPattern.test(id)) return failure(400, 'invalid_id', 'user ids are 1-128 printable ASCII characters');
    // Team pools are the accounts named `team:<name>`; a user of that name would share one.
    if (collection === 'users' && id !== undefined && id.startsWith('team:')) return failure(400, 'invalid_id', 'user ids cannot start with "team:"');
    return handler(request, id ?? '');
  }

  /** Rebuilds the bandit's statistics from the decision log of the last `sinceDays` days (default 28); an empty body is fine. */
  async #rebuildBandit(request: HttpRequest): Promise<HttpResponse> {
    if (this.#bandit === null) return failure(404, 'not_found', 'this server has no bandit');
    const empty = request.body === null || request.body.byteLength === 0;
    const body = empty ? { ok: true as const, value: {} as z.infer<typeof RebuildBody> } : parseBody(request, RebuildBody);
    if (!body.ok) return body.response;
    return json(200, await this.#bandit.rebuild(body.value.sinceDays ?? limits.banditRebuildDays));
  }

  async #putTier(name: string, request: HttpRequest): Promise<HttpResponse> {
    if (!tierNamePattern.test(name)) return invalidTierName();
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
    if (!tierNamePattern.test(name)) return invalidTierName();
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
    if (result.status === 'over_limit') {
      return failure(409, 'balance_limit', `a balance holds at most ${limits.creditBalanceMax} credits; this one holds ${result.available}`);
    }
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

  /**
   * Ingests every file of an upload with the same labels. 201 when at least one frame is new, 200
   * when all were in the pantry already; files that fail are listed in `errors` beside the ones
   * stored, and when none is stored the answer is the failure itself.
   */
  async #addFrames(request: HttpRequest): Promise<HttpResponse> {
    if (this.#ingest === null) return failure(404, 'not_found', 'this server does not take frame uploads');
    const upload = await readUpload(request);
    if (!upload.ok) return upload.response;
    let labels: FrameLabels;
    try {
      labels = parseFrameLabels(upload.value.labels);
    } catch (error) {
      if (error instanceof PantryIngestError) return failure(400, error.code, error.message);
      throw error;
    }
    const frames: Array<ReturnType<typeof frameView>> = [];
    const errors: UploadError[] = [];
    for (const file of upload.value.files) {
      try {
        const { frame, created } = await this.#ingest.add({ data: file.data, genre: labels.genre, mood: labels.mood, style: labels.style, energy: labels.energy ?? undefined });
        frames.push(frameView(frame, created));
      } catch (error) {
        if (!(error instanceof PantryIngestError)) throw error;
        errors.push({ file: file.name, code: error.code, message: error.message });
      }
    }
    if (frames.length === 0) return uploadFailure(errors);
    return json(frames.some((frame) => frame.created) ? 201 : 200, { frames, errors });
  }
}

/** What `parseJson` found in a text's strings or keys that PostgreSQL cannot store. */
class TextRefused {
  constructor(readonly problem: string) {}
}

/**
 * `JSON.parse`, or why a string or key cannot be stored (U+0000, a lone surrogate): an id or a
 * reason carrying one would fail its statement as an internal error.
 */
function parseJson(text: string): unknown {
  let refused: TextRefused | null = null;
  const value: unknown = JSON.parse(text, (key, item: unknown) => {
    const problem = textProblem(key) ?? (typeof item === 'string' ? textProblem(item) : null);
    if (problem !== null) refused ??= new TextRefused(problem);
    return item;
  });
  return refused ?? value;
}

function parseBody<T>(request: HttpRequest, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; response: HttpResponse } {
  if (request.body === null || request.body.byteLength === 0) return { ok: false, response: failure(400, 'invalid_body', 'a JSON body is required') };
  let value: unknown;
  try {
    value = parseJson(request.body.toString('utf8'));
  } catch {
    return { ok: false, response: failure(400, 'invalid_json', 'the body is not valid JSON') };
  }
  if (value instanceof TextRefused) return { ok: false, response: failure(400, 'invalid_body', value.problem) };
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, response: failure(400, 'invalid_body', describeIssues(parsed.error)) };
  return { ok: true, value: parsed.data };
}

const unauthorized = () => failure(401, 'unauthorized', 'admin routes need Authorization: Bearer ADMIN_TOKEN');

type UploadedFile = { name: string; data: Buffer };
type UploadError = { file: string; code: IngestFailureCode; message: string };
type Upload = { labels: Record<string, unknown>; files: UploadedFile[] };
type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

const multipartType = /^multipart\/form-data\b/i;
const rawImageType = /^(image\/[a-z0-9.+-]+|application\/octet-stream)\s*(;|$)/i;
const labelFields = ['genre', 'mood', 'style'] as const;
/** File names are echoed in answers; a longer one is cut, not refused. */
const fileNameLengthMax = 200;

const frameView = (frame: FrameRow, created: boolean) => ({
  id: frame.id, created, url: `/v1/frames/${frame.id}`, width: frame.width, height: frame.height, orientation: frame.orientation,
  style: frame.style, genre: frame.genre, mood: frame.mood, energy: frame.energy, analysis: frame.analysis,
});

/** Nothing was stored: the first failure is the answer (413 for a file too large), every one is listed. */
function uploadFailure(errors: UploadError[]): HttpResponse {
  const first = errors[0];
  if (first === undefined) return failure(400, 'invalid_body', 'the upload holds no image');
  const message = errors.length === 1 ? first.message : `no file was stored: ${errors.slice(0, 3).map((error) => `${error.file}: ${error.message}`).join('; ')}`;
  return json(first.code === 'too_large' ? 413 : 400, { error: { code: first.code, message }, errors });
}

/** The files and the (not yet checked) labels of a frame upload, from either of its two forms. */
async function readUpload(request: HttpRequest): Promise<Parsed<Upload>> {
  const contentType = request.header('content-type');
  const body = request.body ?? Buffer.alloc(0);
  if (multipartType.test(contentType)) return readMultipart(body, contentType);
  if (!rawImageType.test(contentType)) {
    return { ok: false, response: failure(400, 'invalid_body', 'send multipart/form-data, or one image as the body with Content-Type image/* or application/octet-stream') };
  }
  if (body.byteLength === 0) return { ok: false, response: failure(400, 'invalid_body', 'the body is empty: send the image bytes') };
  const metadata = metadataObject(request.header('x-frame-metadata'), 'the x-frame-metadata header');
  if (!metadata.ok) return metadata;
  const fromQuery = textLabels((name) => request.query.get(name) ?? undefined);
  return { ok: true, value: { labels: { ...metadata.value, ...fromQuery }, files: [{ name: 'body', data: body }] } };
}

/** Labels given as text (query string, form fields); energy becomes a number for the schema to check. */
function textLabels(read: (name: string) => string | undefined): Record<string, unknown> {
  const labels: Record<string, unknown> = {};
  for (const name of labelFields) {
    const value = read(name);
    if (value !== undefined) labels[name] = value;
  }
  const energy = read('energy');
  if (energy !== undefined) labels['energy'] = energy.trim() === '' ? Number.NaN : Number(energy);
  return labels;
}

/** A JSON object of labels from a header or form field; '' is no labels. */
function metadataObject(text: string, where: string): Parsed<Record<string, unknown>> {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = parseJson(text);
  } catch {
    return { ok: false, response: failure(400, 'invalid_json', `${where} is not valid JSON`) };
  }
  if (value instanceof TextRefused) return { ok: false, response: failure(400, 'invalid_body', `${where}: ${value.problem}`) };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, response: failure(400, 'invalid_body', `${where} must be a JSON object such as {"genre":"jazz","mood":"calm"}`) };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Parses a buffered multipart body: every part with a file name is a file, whatever its field
 * name; `genre`, `mood`, `style`, `energy` and `metadata` are the text fields read.
 */
async function readMultipart(body: Buffer, contentType: string): Promise<Parsed<Upload>> {
  const invalid = (message: string): Parsed<Upload> => ({ ok: false, response: failure(400, 'invalid_body', message) });
  const parts = await multipartParts(body, contentType).catch((error: unknown) => ({ error: `the multipart body is malformed: ${(error as Error).message}` }));
  if ('error' in parts) return invalid(parts.error);
  if (parts.overflow !== null) return invalid(parts.overflow);
  if (parts.files.length === 0) return invalid('the form holds no file part: attach one or more images');
  const metadata = metadataObject(parts.fields.get('metadata') ?? '', 'the metadata field');
  if (!metadata.ok) return metadata;
  const fromFields = textLabels((name) => parts.fields.get(name));
  return { ok: true, value: { labels: { ...metadata.value, ...fromFields }, files: parts.files } };
}

type MultipartParts = { fields: Map<string, string>; files: UploadedFile[]; overflow: string | null };

function multipartParts(body: Buffer, contentType: string): Promise<MultipartParts> {
  const fields = new Map<string, string>();
  const files: Array<Promise<UploadedFile>> = [];
  let overflow: string | null = null;
  // Inside the executor, so that a content type busboy cannot read (no boundary) rejects.
  return new Promise((resolve, reject) => {
    const parser = busboy({
      headers: { 'content-type': contentType },
      limits: { files: limits.frameUploadFilesMax, fields: limits.frameUploadFieldsMax, fieldSize: limits.adminBodyBytesMax },
    });
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      const name = (info.filename === undefined || info.filename.length === 0 ? field : info.filename).slice(0, fileNameLengthMax);
      files.push(new Promise((done, fail) => {
        stream.on('end', () => done({ name, data: Buffer.concat(chunks) }));
        stream.on('error', fail);
      }));
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) overflow = `the field "${name.slice(0, 64)}" is longer than ${limits.adminBodyBytesMax} bytes`;
      else fields.set(name, value);
    });
    parser.on('filesLimit', () => (overflow = `at most ${limits.frameUploadFilesMax} files per upload; send the rest in another request`));
    parser.on('fieldsLimit', () => (overflow = `at most ${limits.frameUploadFieldsMax} text fields per upload`));
    parser.on('error', reject);
    parser.on('close', () => {
      Promise.all(files).then((done) => resolve({ fields, files: done, overflow }), reject);
    });
    parser.end(body);
  });
}

/**
 * A full garbage collection, for memory measurements (the load test reads resident memory per
 * connection after one). Only a process started with `node --expose-gc` can; others answer 409.
 */
function collectGarbage(): HttpResponse {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return failure(409, 'gc_unavailable', 'this process was not started with node --expose-gc');
  const startedMs = performance.now();
  gc();
  return json(200, { tookMs: Math.round((performance.now() - startedMs) * 10) / 10, heapUsedBytes: process.memoryUsage().heapUsed, residentBytes: process.memoryUsage.rss() });
}
