/**
 * A protocol client for tests, over a real socket (the `ws` package): it encodes in JSON or
 * MessagePack, queues what the server sends, and records how the socket closed.
 */
import WebSocket from 'ws';
import { decodeServerMessage, encodeMessage, type Encoding } from '@titrate/shared';

export type Received = Record<string, unknown> & { t: string };

export class TestClient {
  readonly socket: WebSocket;
  readonly encoding: Encoding;
  readonly received: Received[] = [];
  /** The encoding of every message received, in the order they came (unlike `received`, never taken from). */
  readonly encodings: Encoding[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  private constructor(socket: WebSocket, encoding: Encoding) {
    this.socket = socket;
    this.encoding = encoding;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      const message = decodeServerMessage(isBinary ? new Uint8Array(data) : data.toString('utf8'), isBinary ? 'msgpack' : 'json') as Received;
      this.received.push(message);
      this.encodings.push(isBinary ? 'msgpack' : 'json');
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  static async connect(baseUrl: string, token: string, options: { encoding?: Encoding; viaHeader?: boolean } = {}): Promise<TestClient> {
    const streamUrl = `${baseUrl.replace(/^http/, 'ws')}/v1/stream`;
    const socket = options.viaHeader
      ? new WebSocket(streamUrl, { headers: { authorization: `Bearer ${token}` } })
      : new WebSocket(`${streamUrl}?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)));
    });
    return new TestClient(socket, options.encoding ?? 'json');
  }

  send(message: Record<string, unknown>): void {
    const payload = encodeMessage(message, this.encoding);
    this.socket.send(payload, { binary: typeof payload !== 'string' });
  }

  sendRaw(data: string | Uint8Array, binary: boolean): void {
    this.socket.send(data, { binary });
  }

  /** The next unread message matching `predicate`, waiting up to `timeoutMs`. */
  async take(predicate: (message: Received) => boolean = () => true, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.received.findIndex(predicate);
      if (index >= 0) return this.received.splice(index, 1)[0]!;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`no matching message within ${timeoutMs} ms; unread: ${JSON.stringify(this.received).slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  takeType(type: string, timeoutMs?: number): Promise<Received> {
    return this.take((message) => message.t === type, timeoutMs);
  }

  async hello(extra: Record<string, unknown> = {}): Promise<Received> {
    this.send({ t: 'hello', v: 1, orientation: 'landscape', context: { genre: 'techno', mood: 'energetic', energy: 0.8 }, ...extra });
    return this.takeType('welcome');
  }

  async next(id: string, extra: Record<string, unknown> = {}): Promise<Received> {
    this.send({ t: 'next', id, ...extra });
    return this.take((message) => (message.t === 'frame' || message.t === 'error') && message['req'] === id);
  }

  /** Closes the socket, with `code` as the close frame's code when given. */
  close(code?: number): void {
    this.socket.close(code);
  }
}

/** Attempts an upgrade and reports the HTTP status of a refusal (or 101 when it opened). */
export function upgradeStatus(baseUrl: string, options: { query?: string; headers?: Record<string, string> }): Promise<{ status: number; body: string }> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/v1/stream${options.query ?? ''}`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: options.headers ?? {} });
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}
