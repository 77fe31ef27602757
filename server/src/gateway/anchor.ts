/**
 * A cork to borrow for WebSocket upgrades that finish asynchronously (after the token and the
 * user are checked).
 *
 * uWS wants such an upgrade made inside `HttpResponse.cork`. In the uWS build this project pins,
 * that cork cannot always tell that its socket became a WebSocket: when the upgrade reallocates
 * the socket's memory in place, it runs its HTTP keep-alive check on the new WebSocket's bytes
 * and, depending on what those bytes hold, closes the socket right after `open`
 * (uNetworking/uWebSockets#1928, fixed upstream in a build that does not load here). The client
 * sees close code 1006 before any message. An upgrade made without a cork is correct but makes
 * uWS print a warning per connection.
 *
 * So the gateway keeps one WebSocket to itself over loopback, on a route named by a random
 * secret, with no idle timeout. An upgrade runs inside that socket's cork: the response's own
 * `cork` then finds the loop corked and only runs its callback, the 101 is written directly, and
 * no HTTP check runs on the new socket. While the anchor is not connected (the first moment after
 * start, or after it dropped and before it reconnects), an upgrade runs uncorked.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import uWS from 'uWebSockets.js';

const reconnectDelayMs = 1_000;

export class CorkAnchor {
  readonly #path = `/.cork-anchor/${randomBytes(16).toString('hex')}`;
  #socket: uWS.WebSocket<unknown> | null = null;
  #client: net.Socket | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #target: { host: string; port: number } | null = null;
  #closed = false;
  #opened: Array<() => void> = [];

  constructor(app: uWS.TemplatedApp, private readonly log: Logger) {
    app.ws<unknown>(this.#path, {
      idleTimeout: 0,
      maxPayloadLength: 128,
      compression: uWS.DISABLED,
      open: (socket) => {
        this.#socket = socket;
        for (const resolve of this.#opened.splice(0)) resolve();
      },
      // The anchor's client never sends; anything that arrives is ignored.
      message: () => undefined,
      close: (socket) => {
        if (this.#socket === socket) this.#socket = null;
      },
    });
  }

  /** Connects to the gateway at `port`; resolves when the anchor is open, or false after `timeoutMs`. */
  connect(listenHost: string, port: number, timeoutMs: number): Promise<boolean> {
    this.#target = { host: loopbackFor(listenHost), port };
    const opened = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#opened.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    this.#dial();
    return opened;
  }

  /** Runs `perform` inside the anchor's cork, or as is while the anchor is not connected. */
  run(perform: () => void): void {
    const socket = this.#socket;
    if (socket === null) return perform();
    socket.cork(perform);
  }

  close(): void {
    this.#closed = true;
    if (this.#reconnect !== null) clearTimeout(this.#reconnect);
    this.#client?.destroy();
    this.#client = null;
  }

  #dial(): void {
    const target = this.#target;
    if (this.#closed || target === null) return;
    const client = net.connect(target.port, target.host);
    this.#client = client;
    client.unref();
    client.setNoDelay(true);
    client.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      client.write(`GET ${this.#path} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    // Only the 101 ever arrives (no idle timeout, so no pings); it marks the anchor as opened.
    let opened = false;
    client.on('data', () => (opened = true));
    client.on('error', (error) => this.log.debug({ err: error }, 'cork anchor connection failed'));
    client.on('close', () => {
      if (this.#client === client) this.#client = null;
      if (this.#closed) return;
      // Said once per loss, not once per failed retry.
      if (opened) this.log.warn('cork anchor closed; upgrades run uncorked until it reconnects');
      this.#reconnect = setTimeout(() => {
        this.#reconnect = null;
        this.#dial();
      }, reconnectDelayMs);
      this.#reconnect.unref();
    });
  }
}

/** Where a server listening on `host` is reached from its own machine. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}
