/**
 * A fake image API on a real socket, speaking both dialects the server talks to — OpenAI's
 * `POST /v1/images/generations` and the Stable Diffusion WebUI's `POST /sdapi/v1/txt2img` — and
 * answering with real PNGs of the size asked for (a gradient, so they pass the solid-fill check).
 *
 * Each test says how it should misbehave: a standing behaviour (`behave`) and a queue of one-shot
 * behaviours taken first (`queue`, e.g. one 429 then success). Every request is recorded for
 * assertions. A hanging answer holds its socket open until the client gives up or the fake
 * closes; closing destroys every socket and timer it holds, so nothing outlives the test.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import type { Test } from 'tap';

export type FakeMalformedVariant =
  /** A body that is not JSON at all (an HTML error page from a proxy). */
  | 'not_json'
  /** JSON with an empty image list. */
  | 'no_images'
  /** An "image" that is not base64. */
  | 'not_base64'
  /** Valid base64 of bytes that are not an image. */
  | 'not_an_image'
  /** A real image of one colour, as safety filters return. */
  | 'solid_fill'
  /** A real image too small to be a frame. */
  | 'tiny';

export type FakeBehaviour =
  /** A real image; `chunked` streams it without a Content-Length. */
  | { mode: 'ok'; chunked?: boolean }
  /** An error status (500 unless told) with a JSON error; `echoAuthorization` quotes the key back, as OpenAI's 401 does. */
  | { mode: 'fail'; status?: number; echoAuthorization?: boolean }
  /** No answer until the client aborts or the fake closes. */
  | { mode: 'hang' }
  /** 429 with `Retry-After` (delta-seconds or an HTTP-date; "1" unless told). */
  | { mode: 'rate_limit'; retryAfter?: string }
  | { mode: 'malformed'; variant: FakeMalformedVariant }
  /** A real image after `delayMs`. */
  | { mode: 'late'; delayMs: number };
export type FakeMode = FakeBehaviour['mode'];

export type RecordedRequest = { method: string; path: string; headers: IncomingHttpHeaders; body: unknown };

type Dialect = 'openai' | 'sd';

const requestBytesMax = 1024 * 1024;
const imageSidePixelsMax = 2048;
const defaults: Record<FakeMode, FakeBehaviour> = {
  ok: { mode: 'ok' },
  fail: { mode: 'fail', status: 500 },
  hang: { mode: 'hang' },
  rate_limit: { mode: 'rate_limit', retryAfter: '1' },
  malformed: { mode: 'malformed', variant: 'not_json' },
  late: { mode: 'late', delayMs: 200 },
};

export class FakeImageApi {
  readonly requests: RecordedRequest[] = [];
  readonly #server = createServer((request, response) => void this.#handle(request, response));
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #images = new Map<string, Promise<string>>();
  #standing: FakeBehaviour = defaults.ok;
  #oneShots: FakeBehaviour[] = [];
  #url = '';

  /** Starts a fake on a free port of 127.0.0.1, closed when the test ends. */
  static async start(t: Test): Promise<FakeImageApi> {
    const fake = new FakeImageApi();
    await fake.#listen();
    t.teardown(() => fake.close());
    return fake;
  }

  /** Scheme, host and port, without a trailing slash (`http://127.0.0.1:40123`). */
  get url(): string {
    return this.#url;
  }

  /** The behaviour of every request not taken by the queue. */
  behave(behaviour: FakeMode | FakeBehaviour): void {
    this.#standing = typeof behaviour === 'string' ? defaults[behaviour] : behaviour;
  }

  /** One-shot behaviours, used in order by the next requests before the standing one. */
  queue(...behaviours: Array<FakeMode | FakeBehaviour>): void {
    this.#oneShots.push(...behaviours.map((behaviour) => (typeof behaviour === 'string' ? defaults[behaviour] : behaviour)));
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) socket.destroy();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve, reject) => this.#server.close((error) => (error === undefined ? resolve() : reject(error))));
  }

  async #listen(): Promise<void> {
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    const body = await readBody(request);
    this.requests.push({ method: request.method ?? '', path, headers: request.headers, body });
    const dialect: Dialect | null =
      request.method === 'POST' && path === '/v1/images/generations' ? 'openai' : request.method === 'POST' && path === '/sdapi/v1/txt2img' ? 'sd' : null;
    if (dialect === null) return sendJson(response, 404, { detail: 'Not Found' });
    const behaviour = this.#oneShots.shift() ?? this.#standing;
    try {
      await this.#answer(behaviour, dialect, body, request.headers, response);
    } catch (error) {
      if (!response.headersSent) sendJson(response, 599, { detail: `the fake failed: ${String(error)}` });
    }
  }

  async #answer(behaviour: FakeBehaviour, dialect: Dialect, body: unknown, headers: IncomingHttpHeaders, response: ServerResponse): Promise<void> {
    switch (behaviour.mode) {
      case 'ok':
        return this.#sendImage(response, dialect, await this.#image(requestedSize(dialect, body), 'gradient'), behaviour.chunked ?? false);
      case 'late': {
        const image = await this.#image(requestedSize(dialect, body), 'gradient');
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (!response.destroyed) this.#sendImage(response, dialect, image, false);
        }, behaviour.delayMs);
        this.#timers.add(timer);
        return;
      }
      case 'hang':
        return;
      case 'fail': {
        const status = behaviour.status ?? 500;
        const key = (headers.authorization ?? '').replace(/^Bearer /, '');
        const message = behaviour.echoAuthorization === true ? `Incorrect API key provided: ${key}.` : 'The server had an error while processing your request.';
        return sendJson(response, status, dialect === 'openai' ? { error: { message, type: 'server_error', code: null } } : { error: 'RuntimeError', detail: '', body: '', errors: message });
      }
      case 'rate_limit':
        response.setHeader('retry-after', behaviour.retryAfter ?? '1');
        return sendJson(response, 429, { error: { message: 'Rate limit reached for images per minute.', type: 'requests', code: 'rate_limit_exceeded' } });
      case 'malformed':
        return this.#sendMalformed(response, dialect, body, behaviour.variant);
    }
  }

  async #sendMalformed(response: ServerResponse, dialect: Dialect, body: unknown, variant: FakeMalformedVariant): Promise<void> {
    switch (variant) {
      case 'not_json':
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'no_images':
        return sendJson(response, 200, dialect === 'openai' ? { created: 0, data: [] } : { images: [], info: '{}' });
      case 'not_base64':
        return this.#sendImage(response, dialect, '!!! not base64 !!!', false);
      case 'not_an_image':
        return this.#sendImage(response, dialect, Buffer.from('these bytes are not an image, whatever the base64 says'.repeat(4)).toString('base64'), false);
      case 'solid_fill':
        return this.#sendImage(response, dialect, await this.#image(requestedSize(dialect, body), 'solid'), false);
      case 'tiny':
        return this.#sendImage(response, dialect, await this.#image({ width: 32, height: 32 }, 'gradient'), false);
    }
  }

  #sendImage(response: ServerResponse, dialect: Dialect, base64: string, chunked: boolean): void {
    const payload = dialect === 'openai' ? { created: 0, data: [{ b64_json: base64, revised_prompt: 'fake' }] } : { images: [base64], parameters: {}, info: '{}' };
    if (!chunked) return sendJson(response, 200, payload);
    const text = JSON.stringify(payload);
    response.writeHead(200, { 'content-type': 'application/json' });
    const chunkChars = 16 * 1024;
    for (let offset = 0; offset < text.length; offset += chunkChars) response.write(text.slice(offset, offset + chunkChars));
    response.end();
  }

  /** A PNG as base64, cached per size and kind: a diagonal gradient with a pattern, or one flat colour. */
  #image(size: { width: number; height: number }, kind: 'gradient' | 'solid'): Promise<string> {
    const key = `${kind}:${size.width}x${size.height}`;
    let image = this.#images.get(key);
    if (image === undefined) {
      image = renderPng(size.width, size.height, kind);
      this.#images.set(key, image);
    }
    return image;
  }
}

async function renderPng(width: number, height: number, kind: 'gradient' | 'solid'): Promise<string> {
  if (kind === 'solid') {
    const png = await sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    return png.toString('base64');
  }
  // Drawn small in JavaScript and enlarged natively: a 1792×1024 image in milliseconds, not a second.
  const tileSide = 64;
  const pixels = Buffer.alloc(tileSide * tileSide * 3);
  for (let y = 0; y < tileSide; y += 1) {
    for (let x = 0; x < tileSide; x += 1) {
      const offset = (y * tileSide + x) * 3;
      pixels[offset] = x * 4;
      pixels[offset + 1] = y * 4;
      pixels[offset + 2] = ((x * 7 + y * 13) % 16) * 16;
    }
  }
  const png = await sharp(pixels, { raw: { width: tileSide, height: tileSide, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'nearest' })
    .png({ compressionLevel: 1 })
    .toBuffer();
  return png.toString('base64');
}

function requestedSize(dialect: Dialect, body: unknown): { width: number; height: number } {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (dialect === 'openai') {
    const match = /^(\d+)x(\d+)$/.exec(typeof record['size'] === 'string' ? record['size'] : '');
    return clampSize(Number(match?.[1] ?? 1024), Number(match?.[2] ?? 1024));
  }
  return clampSize(Number(record['width'] ?? 512), Number(record['height'] ?? 512));
}

function clampSize(width: number, height: number): { width: number; height: number } {
  const clamp = (side: number) => (Number.isInteger(side) ? Math.min(imageSidePixelsMax, Math.max(1, side)) : 512);
  return { width: clamp(width), height: clamp(height) };
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > requestBytesMax) break;
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function sendJson(response: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
