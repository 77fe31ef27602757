/**
 * An in-memory WebSocket for unit tests of the client: the test opens it, feeds it server messages
 * and closes it, and reads what the client sent. Messages travel as JSON (the client is created
 * with `encoding: 'json'`), or MessagePack when the client sends binary.
 */
import { decodeServerMessage, encodeMessage } from '@titrate/shared';
import type { SocketEvent, WebSocketConstructor, WebSocketLike } from '../../src/platform.js';

export type Sent = Record<string, unknown> & { t: string };

export class MemorySocket implements WebSocketLike {
  readyState = 0;
  binaryType = 'blob';
  readonly url: string;
  readonly sent: Sent[] = [];
  closedByClient: { code: number | undefined; reason: string | undefined } | null = null;
  readonly #listeners = new Map<string, Array<(event: SocketEvent) => void>>();

  constructor(url: string) {
    this.url = url;
  }

  get token(): string | null {
    return new URL(this.url).searchParams.get('token');
  }

  addEventListener(type: string, listener: (event: SocketEvent) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  #emit(type: string, event: SocketEvent): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState !== 1) throw new Error('not open');
    const bytes = typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.sent.push(decodeServerMessage(bytes, typeof bytes === 'string' ? 'json' : 'msgpack') as Sent);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#emit('close', { code: code ?? 1005, reason: reason ?? '' });
  }

  // --- The server's side ---

  open(): void {
    this.readyState = 1;
    this.#emit('open', {});
  }

  receive(message: Record<string, unknown>): void {
    this.#emit('message', { data: encodeMessage(message, 'json') });
  }

  receiveRaw(data: unknown): void {
    this.#emit('message', { data });
  }

  /** The connection failed before opening (refused upgrade, network down). */
  fail(): void {
    this.readyState = 3;
    this.#emit('error', {});
    this.#emit('close', { code: 1006, reason: '' });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.#emit('close', { code, reason });
  }

  sentOfType(type: string): Sent[] {
    return this.sent.filter((message) => message.t === type);
  }
}

/** A WebSocket class whose instances are recorded in `sockets`, newest last. */
export function memorySockets(): { WebSocket: WebSocketConstructor; sockets: MemorySocket[] } {
  const sockets: MemorySocket[] = [];
  class RecordedSocket extends MemorySocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return { WebSocket: RecordedSocket, sockets };
}
