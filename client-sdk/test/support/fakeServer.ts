/**
 * A small stand-in for the Titrate server, for the SDK's integration tests: a real `ws` WebSocket
 * server and a real HTTP server (`/v1/auth/check`, `/v1/frames/{id}`) on a free port, speaking the
 * protocol just far enough to be scripted: which tokens it accepts, whether it answers `next` or
 * acks beacons, when it drops connections or stops accepting them. Every client message is
 * validated with the shared schemas and recorded.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decodeClientMessage, encodeMessage, type ClientMessage, type Encoding, type FrameMessage } from '@titrate/shared';
import type { Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { frame, stockFrame, welcome } from './messages.js';

export type Received = { connection: number; message: ClientMessage; atMs: number };
export type NextAnswer = 'frame' | 'silent' | 'pending';

export class FakeServer {
  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #tcp = new Set<Socket>();
  readonly #sockets: WebSocket[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #decisions = new Map<string, FrameMessage>();
  readonly #sessions = new Set<string>();
  readonly #beaconsCounted = new Set<string>();
  #decisionCount = 0;
  #stockCursor = 0;
  port = 0;

  /** Tokens the server accepts; anything else is refused with 401 before the upgrade. */
  readonly tokens: Set<string>;
  /** Upgrade requests seen (accepted or refused). */
  readonly upgrades: Array<{ token: string | null; atMs: number; status: number }> = [];
  readonly authChecks: string[] = [];
  readonly imageRequests: string[] = [];
  readonly received: Received[] = [];
  /** Client messages that failed the shared schemas (a conforming SDK sends none). */
  readonly invalid: string[] = [];
  readonly hellos: Array<Extract<ClientMessage, { t: 'hello' }>> = [];
  /** `refuse`: upgrades are answered 503 (the auth check still answers); `down`: every TCP connection is cut at once. */
  mode: 'up' | 'refuse' | 'down' = 'up';
  ackBeacons = true;
  answerNext: (message: Extract<ClientMessage, { t: 'next' }>, connection: number) => NextAnswer = () => 'frame';

  private constructor(tokens: Iterable<string>) {
    this.tokens = new Set(tokens);
    this.#http = createServer((request, response) => this.#serveHttp(request, response));
    this.#http.on('connection', (socket: Socket) => {
      if (this.mode === 'down') {
        socket.destroy();
        return;
      }
      this.#tcp.add(socket);
      socket.on('close', () => this.#tcp.delete(socket));
    });
    this.#http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(request, socket, head));
  }

  static async start(t: Test, tokens: Iterable<string> = ['good']): Promise<FakeServer> {
    const fake = new FakeServer(tokens);
    fake.#http.listen(0, '127.0.0.1');
    await once(fake.#http, 'listening');
    const address = fake.#http.address();
    fake.port = typeof address === 'object' && address !== null ? address.port : 0;
    t.teardown(() => fake.close());
    return fake;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/stream`;
  }

  get connections(): number {
    return this.#sockets.length;
  }

  #serveHttp(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (url.pathname === '/v1/auth/check') {
      const token = (request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      this.authChecks.push(token);
      const accepted = this.tokens.has(token);
      response.writeHead(accepted ? 200 : 401, { 'content-type': 'application/json' });
      response.end(JSON.stringify(accepted ? { user: 'listener', expiresAt: '2030-01-01T00:00:00Z' } : { error: { code: 'invalid_token', message: 'no' } }));
      return;
    }
    const image = /^\/v1\/frames\/([\w-]+)$/.exec(url.pathname);
    if (image !== null) {
      this.imageRequests.push(image[1]!);
      response.writeHead(200, { 'content-type': 'image/webp' });
      response.end(Buffer.from(`image:${image[1]}`));
      return;
    }
    response.writeHead(404).end();
  }

  #upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const token = new URL(request.url ?? '/', 'http://fake').searchParams.get('token');
    const status = this.mode === 'refuse' ? 503 : token !== null && this.tokens.has(token) ? 101 : 401;
    this.upgrades.push({ token, atMs: Date.now(), status });
    if (status !== 101) {
      const body = JSON.stringify({ error: { code: status === 401 ? 'invalid_token' : 'shutting_down', message: 'refused' } });
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#open(ws));
  }

  #open(ws: WebSocket): void {
    const connection = this.#sockets.length;
    this.#sockets.push(ws);
    let encoding: Encoding = 'json';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      encoding = isBinary ? 'msgpack' : 'json';
      const decoded = decodeClientMessage(isBinary ? new Uint8Array(data) : data.toString('utf8'), encoding);
      if (!decoded.ok) {
        this.invalid.push(decoded.message);
        return;
      }
      this.received.push({ connection, message: decoded.value, atMs: Date.now() });
      for (const wake of [...this.#waiters]) wake();
      this.#answer(ws, connection, decoded.value, encoding);
    });
  }

  #send(ws: WebSocket, message: Record<string, unknown>, encoding: Encoding): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeMessage(message, encoding), { binary: encoding === 'msgpack' });
  }

  #answer(ws: WebSocket, connection: number, message: ClientMessage, encoding: Encoding): void {
    const send = (answer: Record<string, unknown>) => this.#send(ws, answer, encoding);
    switch (message.t) {
      case 'hello': {
        this.hellos.push(message);
        const resumed = message.resume !== undefined && this.#sessions.has(message.resume);
        const session = resumed ? message.resume! : `session-${this.#sessions.size + 1}`;
        this.#sessions.add(session);
        send({ ...welcome(session, resumed) });
        if (message.resume !== undefined && !resumed) send({ t: 'notice', code: 'resume_unavailable', text: 'new session' });
        return;
      }
      case 'next': {
        const answer = this.answerNext(message, connection);
        if (answer === 'silent') return;
        if (answer === 'pending') return send({ t: 'pending', req: message.id, etaMs: 5_000 });
        return send({ ...this.#decide(message.id) });
      }
      case 'beacon': {
        if (!this.ackBeacons || message.id === undefined) return;
        const counted = !this.#beaconsCounted.has(message.id);
        this.#beaconsCounted.add(message.id);
        const reward = message.dwellMs >= 10_000 || message.liked === true ? 1 : 0;
        return send({ t: 'ack', req: message.id, ok: true, reward, counted });
      }
      case 'stock': {
        const frames = Array.from({ length: message.count }, () => stockFrame(++this.#stockCursor));
        return send({ t: 'stock', req: message.id, frames });
      }
      case 'burst':
        return send({ t: 'ack', req: message.id, ok: true, charged: 5, until: '2030-01-01T00:15:00.000Z' });
      case 'conserve':
        return send({ t: 'notice', code: message.on ? 'conserve_on' : 'conserve_off', text: 'ok' });
      case 'context':
        return;
    }
  }

  /** The decision for a request id: made once, the same on every replay (an idempotency key). */
  #decide(req: string): FrameMessage {
    let decision = this.#decisions.get(req);
    if (decision === undefined) {
      this.#decisionCount += 1;
      decision = frame(req, { id: `decision-${this.#decisionCount}`, frameId: `live-${this.#decisionCount}`, url: `/v1/frames/live-${this.#decisionCount}` });
      this.#decisions.set(req, decision);
    }
    return decision;
  }

  /** Sends a `frame` for `req` now (a request the server kept silent about). */
  answer(req: string): void {
    const socket = this.#sockets.at(-1);
    if (socket !== undefined) this.#send(socket, { ...this.#decide(req) }, 'msgpack');
  }

  /** Closes every open connection with `code`, or cuts them without a close frame (1006). */
  drop(code?: number): void {
    for (const socket of this.#sockets) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (code === undefined) socket.terminate();
      else socket.close(code, 'fake');
    }
  }

  /** Messages of `type` received, oldest first. */
  messages<T extends ClientMessage['t']>(type: T): Array<Received & { message: Extract<ClientMessage, { t: T }> }> {
    return this.received.filter((entry) => entry.message.t === type) as Array<Received & { message: Extract<ClientMessage, { t: T }> }>;
  }

  /** Waits until `predicate` holds over what was received (checked on every message), up to `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        clearInterval(poll);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        clearInterval(poll);
        reject(new Error(`${what} not met within ${timeoutMs} ms`));
      }, timeoutMs);
      // Conditions on client state (not only on messages) are polled as well.
      const poll = setInterval(check, 10);
      this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    this.#wss.close();
    for (const socket of this.#tcp) socket.destroy();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}
