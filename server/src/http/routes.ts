/**
 * Every HTTP route of the server, as a function from request to response. The gateway adapts the
 * socket to `HttpRequest` and back; nothing here knows which HTTP server is underneath.
 */
import type { Registry } from 'prom-client';
import type { Authentication } from '../gateway/gateway.js';
import type { Metrics } from '../metrics/metrics.js';
import { limits } from '../limits.js';
import type { FrameStore } from '../pantry/store.js';
import { parseVariantId, type FrameVariants } from '../pantry/variants.js';
import type { AdminRoutes } from './admin.js';
import type { PlayerPage } from './player.js';
import { failure, json, type HttpRequest, type HttpResponse } from './types.js';

export type Readiness = () => Promise<{ ready: boolean; checks: Record<string, string> }>;

/** A request before its body is read: the request line and headers. */
export type HttpRequestHead = Omit<HttpRequest, 'body'>;
/**
 * What a request may send, decided from its head alone, before any body byte is read: the
 * largest body it may have, or the answer it gets without its body being looked at.
 */
export type Admission = { bodyBytesMax: number } | { refusal: HttpResponse };

/** Frames are public and content-addressed, and a token check reveals only its own answer: any origin may read them. */
const crossOrigin = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'authorization, if-none-match',
  'access-control-max-age': '86400',
};

const frameIdPattern = /^[a-z0-9_-]{8,128}$/;

export class HttpRoutes {
  readonly #frames: FrameStore;
  readonly #variants: FrameVariants;
  readonly #admin: AdminRoutes;
  readonly #registry: Registry;
  readonly #metrics: Metrics;
  readonly #readiness: Readiness;
  readonly #authenticate: ((token: string | null) => Promise<Authentication>) | null;
  readonly #player: PlayerPage | null;

  constructor(options: {
    frames: FrameStore;
    variants: FrameVariants;
    admin: AdminRoutes;
    metrics: Metrics;
    readiness: Readiness;
    /** Checks a player token the way the stream's upgrade does (`GET /v1/auth/check`); absent: 404. */
    authenticate?: (token: string | null) => Promise<Authentication>;
    /** The reference web player at `/` (absent: a plain landing page). */
    player?: PlayerPage;
  }) {
    this.#frames = options.frames;
    this.#variants = options.variants;
    this.#admin = options.admin;
    this.#metrics = options.metrics;
    this.#registry = options.metrics.registry;
    this.#readiness = options.readiness;
    this.#authenticate = options.authenticate ?? null;
    this.#player = options.player ?? null;
  }

  async handle(request: HttpRequest): Promise<HttpResponse> {
    const { route, response } = await this.#route(request);
    this.#metrics.httpRequests.inc({ route, status: String(response.status) });
    // A player page on another origin fetches frames (for its offline cache) and checks its token.
    return route === 'frames' || route === 'auth_check' ? { ...response, headers: { ...response.headers, ...crossOrigin } } : response;
  }

  /** Decides a request's body bound before the body is read; only admin routes take bodies at all. */
  admit(request: HttpRequestHead): Admission {
    const decoded = decodedSegments(request.path);
    if (decoded === null || decoded[0] !== 'v1' || decoded[1] !== 'admin') return { bodyBytesMax: limits.adminBodyBytesMax };
    const admission = this.#admin.admit(request, decoded.slice(2));
    if ('refusal' in admission) this.#metrics.httpRequests.inc({ route: 'admin', status: String(admission.refusal.status) });
    return admission;
  }

  async #route(request: HttpRequest): Promise<{ route: string; response: HttpResponse }> {
    const decoded = decodedSegments(request.path);
    if (decoded === null) return { route: 'invalid', response: failure(400, 'invalid_path', 'the path is not valid percent-encoding') };
    const [first, second, third] = decoded;
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    if (first === 'healthz' && decoded.length === 1 && isRead) return { route: 'healthz', response: json(200, { status: 'ok' }) };
    if (first === 'readyz' && decoded.length === 1 && isRead) return { route: 'readyz', response: await this.#ready() };
    if (first === 'metrics' && decoded.length === 1 && isRead) {
      const body = await this.#registry.metrics();
      return { route: 'metrics', response: { status: 200, headers: { 'content-type': this.#registry.contentType }, body } };
    }
    if (first === 'v1' && second === 'frames' && third !== undefined && decoded.length === 3 && isRead) {
      return { route: 'frames', response: await this.#frame(third, request) };
    }
    if (first === 'v1' && second === 'auth' && third === 'check' && decoded.length === 3 && this.#authenticate !== null) {
      if (request.method === 'OPTIONS') return { route: 'auth_check', response: { status: 204, headers: {}, body: '' } };
      if (isRead) return { route: 'auth_check', response: await this.#authCheck(request) };
    }
    if (first === 'v1' && second === 'frames' && third !== undefined && decoded.length === 3 && request.method === 'OPTIONS') {
      return { route: 'frames', response: { status: 204, headers: {}, body: '' } };
    }
    if (first === 'v1' && second === 'admin') return { route: 'admin', response: await this.#admin.handle(request, decoded.slice(2)) };
    if (first === 'v1' && second === 'stream' && decoded.length === 2) {
      return { route: 'stream', response: failure(426, 'upgrade_required', 'GET /v1/stream is a WebSocket endpoint') };
    }
    if ((decoded.length === 0 || (first === 'player' && decoded.length === 1)) && isRead) {
      return { route: 'player', response: this.#player === null ? landingPage() : await this.#player.page() };
    }
    if (first === 'player' && second !== undefined && decoded.length === 2 && isRead && this.#player !== null) {
      const asset = await this.#player.asset(second);
      if (asset !== null) return { route: 'player', response: asset };
    }
    return { route: 'unknown', response: failure(404, 'not_found', `no route ${request.method} ${request.path}`) };
  }

  /**
   * Would the stream accept this token? A browser cannot read the status of a refused WebSocket
   * upgrade, so a client whose connection failed asks here: 200 `{user, expiresAt}` (the token is
   * fine: retry), 401 (refresh the token) or 403 (the user is unknown: stop).
   */
  async #authCheck(request: HttpRequest): Promise<HttpResponse> {
    const bearer = /^Bearer\s+(.+)$/i.exec(request.header('authorization'))?.[1]?.trim();
    const token = bearer ?? request.query.get('token');
    if (token !== null && token.length > limits.tokenBytesMax) return failure(401, 'invalid_token', 'token too long');
    const result = await this.#authenticate!(token === '' ? null : token);
    if (!result.ok) return failure(result.status, result.code, result.message);
    return json(200, { user: result.userId, expiresAt: new Date(result.expiresAtMs).toISOString() });
  }

  async #ready(): Promise<HttpResponse> {
    const { ready, checks } = await this.#readiness();
    return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks });
  }

  /** A stored frame, or a variant adapted to a screen (rendered once, then cached). */
  async #frame(id: string, request: HttpRequest): Promise<HttpResponse> {
    if (!frameIdPattern.test(id)) return failure(404, 'frame_not_found', `frame "${id.slice(0, 64)}" does not exist`);
    const variant = parseVariantId(id) !== null;
    const frame = variant ? null : await this.#frames.get(id);
    if (!variant && frame === null) return failure(404, 'frame_not_found', `frame "${id}" does not exist`);
    // Frames and variants are content-addressed: the bytes behind an id never change.
    const headers = { 'content-type': frame?.contentType ?? 'image/webp', 'cache-control': 'public, max-age=31536000, immutable', etag: `"${id}"` };
    if (request.header('if-none-match').split(',').some((tag) => tag.trim() === `"${id}"`)) {
      return { status: 304, headers, body: '' };
    }
    const data = frame !== null ? await this.#frames.readData(frame).catch(() => null) : ((await this.#variants.read(id).catch(() => null))?.data ?? null);
    if (data === null) return failure(404, 'frame_not_found', variant ? `frame variant "${id}" does not exist` : `the file of frame "${id}" is missing`);
    return { status: 200, headers, body: request.method === 'HEAD' ? '' : data };
  }
}

/** The path's segments, percent-decoded; null when the encoding is broken. */
function decodedSegments(path: string): string[] | null {
  try {
    return path.split('/').filter((segment) => segment.length > 0).map((segment) => decodeURIComponent(segment));
  } catch {
    return null;
  }
}

/** What `/` shows on a server without the web player (a worker process). */
function landingPage(): HttpResponse {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Titrate</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;background:#111;color:#eee;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Titrate</h1><p>The server is running. Players connect to <code>/v1/stream</code> over WebSocket with a token
(<code>npm run token -- --user demo</code>); frames are served from <code>/v1/frames/{id}</code>.</p>
<p>Health: <a style="color:#8cf" href="/readyz">/readyz</a> · Metrics: <a style="color:#8cf" href="/metrics">/metrics</a></p></body></html>`;
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }, body: html };
}
