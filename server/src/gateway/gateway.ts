/**
 * The gateway: the only module that touches uWebSockets.js. It serves HTTP routes and the
 * `/v1/stream` WebSocket, and turns socket events into calls on a transport-neutral
 * `StreamSession`.
 *
 * Per connection it enforces, in this order: authentication before the upgrade (no socket opens
 * for a bad token), the protocol size limit (close 1009), a message rate (token bucket), a bound
 * on messages in flight, and strictly ordered processing. Every send is guarded: a closed socket
 * or one over its backpressure limit drops the message and counts it, never throws.
 */
import uWS from 'uWebSockets.js';
import { CloseCode, ErrorCode, decodeClientMessage, encodeMessage, protocolLimits, type ClientMessage, type Decoded, type Encoding, type ServerMessage } from '@titrate/shared';
import type { Logger } from 'pino';
import type { HttpRoutes } from '../http/routes.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Outbox, StreamSession } from '../stream/session.js';
import type { UserAccount } from '../users/directory.js';
import { CorkAnchor } from './anchor.js';
import { LinkedList } from './linkedList.js';
import { TokenBucket, bucketRule } from './tokenBucket.js';

export type Authentication =
  | { ok: true; userId: string; expiresAtMs: number; account: UserAccount }
  | { ok: false; status: 401 | 403 | 503; code: string; message: string };

export type GatewayOptions = {
  host: string;
  port: number;
  routes: HttpRoutes;
  authenticate: (token: string | null) => Promise<Authentication>;
  /**
   * Opens the stream of a connected player, with the account its upgrade read (its `hello` needs
   * no second read); null serves HTTP only (a worker process).
   */
  openSession: ((account: UserAccount, outbox: Outbox) => StreamSession) | null;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
};

/** What the gateway does for a connection: one pair of functions shared by every connection. */
type ConnectionIo = {
  send(connection: Connection, message: ServerMessage): void;
  end(connection: Connection, code: number, reason: string): void;
};

const settled = Promise.resolve();

/**
 * uWS copies a socket's user data into an object of its own, so the class instance travels inside
 * one, with the account read at the upgrade until the socket opens (then let go).
 */
type SocketData = { connection: Connection; account: UserAccount | null };

/** Every connection's message rate. */
const messageRate = bucketRule(limits.messagesPerSecondMax, limits.messagesBurstMax);

/**
 * A connection's life:
 *   upgrading  authenticated, the socket not open yet;
 *   open       messages are read and answered;
 *   closing    a protocol violation was seen: nothing more is read, and the socket closes once
 *              earlier messages are answered;
 *   ended      closed by the server or the client: nothing more is sent.
 */
type ConnectionPhase = 'upgrading' | 'open' | 'closing' | 'ended';
const phases: readonly ConnectionPhase[] = ['upgrading', 'open', 'closing', 'ended'];
const openIndex = phases.indexOf('open');
const closingIndex = phases.indexOf('closing');

/**
 * `Connection`'s packed small state: the phase's index, two bits for the answers' encoding, and
 * above them the messages in flight (at most `pendingMessagesPerConnectionMax`).
 */
const phaseBits = 0b011;
const msgpackBit = 0b100;
const helloEncodingBit = 0b1000;
const inFlightShift = 4;
const stateBits = (1 << inFlightShift) - 1;

/**
 * One socket's state; it is also its session's outbox, its own message-rate bucket and a link in
 * the gateway's list of open connections. A server holds one per connection for as long as the
 * socket is open, so it keeps only what differs between connections: what every connection shares
 * (the gateway's `io`) is its gateway's subclass's, and the phase and the encoding are bits of one
 * small integer with the count of messages in flight.
 */
abstract class Connection extends TokenBucket implements Outbox {
  socket: uWS.WebSocket<SocketData> | null = null;
  session: StreamSession | null = null;
  chain: Promise<void> = settled;
  previous: Connection | null = null;
  next: Connection | null = null;
  /** When the token expires, in whole seconds (a token's own unit, and a small integer held in place). */
  readonly expiresAtSeconds: number;
  #bits = 0;

  constructor(expiresAtMs: number, bucketNowMs: number) {
    super(bucketNowMs);
    this.expiresAtSeconds = Math.ceil(expiresAtMs / 1000);
  }

  protected abstract get io(): ConnectionIo;

  get phase(): ConnectionPhase {
    return phases[this.#bits & phaseBits]!;
  }

  set phase(phase: ConnectionPhase) {
    this.#bits = (this.#bits & ~phaseBits) | phases.indexOf(phase);
  }

  /** Messages read and not yet handled to their end. */
  get inFlight(): number {
    return this.#bits >> inFlightShift;
  }

  set inFlight(count: number) {
    this.#bits = (this.#bits & stateBits) | (count << inFlightShift);
  }

  /** The encoding answers use: the one of `hello`, or of the last message before it. */
  get encoding(): Encoding {
    return (this.#bits & msgpackBit) === 0 ? 'json' : 'msgpack';
  }

  /** A message in `encoding` arrived; answers use it unless `hello`'s is set (`hello`: it is set now). */
  heard(encoding: Encoding, hello: boolean): void {
    if ((this.#bits & helloEncodingBit) !== 0) return;
    this.#bits = (this.#bits & ~msgpackBit) | (encoding === 'msgpack' ? msgpackBit : 0) | (hello ? helloEncodingBit : 0);
  }

  /** Answers can still go out (an open socket, or one closing after its earlier messages). */
  get writable(): boolean {
    const phase = this.#bits & phaseBits;
    return phase === openIndex || phase === closingIndex;
  }

  /** Takes one message from the connection's rate. */
  admit(nowMs: number): boolean {
    return this.take(messageRate, nowMs);
  }

  send(message: ServerMessage): void {
    this.io.send(this, message);
  }

  close(code: number, reason: string): void {
    this.io.end(this, code, reason);
  }
}

export type Gateway = {
  port: number;
  connectionCount: () => number;
  /** Stops accepting connections and HTTP requests. */
  stopAccepting: () => void;
  /** Closes every socket with `code` (4000-4099 tells clients to reconnect). */
  closeAll: (code: number, reason: string) => void;
  /** Waits until in-flight messages are processed, or `timeoutMs` passes. */
  drain: (timeoutMs: number) => Promise<void>;
  close: () => void;
};

const statusText: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 426: 'Upgrade Required',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};
const status = (code: number) => `${code} ${statusText[code] ?? 'Unknown'}`;

/** How every stream socket is set up (the echo baseline uses the same). */
export const socketSettings = {
  maxPayloadLength: limits.transportPayloadBytesMax,
  idleTimeout: limits.idleTimeoutSeconds,
  sendPingsAutomatically: true,
  maxBackpressure: limits.backpressureBytesMax,
  // The typings say number; the native addon takes a boolean.
  closeOnBackpressureLimit: true as unknown as number,
  compression: uWS.DISABLED,
} as const;

/** The token from `?token=` or `Authorization: Bearer`. */
function tokenFrom(query: string, authorization: string): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer !== null) return bearer[1]!;
  const fromQuery = new URLSearchParams(query).get('token');
  return fromQuery === null || fromQuery.length === 0 ? null : fromQuery;
}

export function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { metrics, log } = options;
  const now = options.now ?? Date.now;
  // Rate buckets count time on the process's monotonic clock in whole milliseconds: it never steps
  // back as the wall clock may (a bucket would then be empty for a moment), and its small integers
  // are held in place by a connection, where epoch milliseconds would each be a separate heap
  // number. (Past 2^31 ms, ~24.8 days of uptime, they are heap numbers too: still exact, 16 B more
  // a connection.)
  const bucketNow = () => Math.floor(performance.now());
  const connections = new LinkedList<Connection>();
  let accepting = true;
  const app = uWS.App();
  const anchor = options.openSession === null ? null : new CorkAnchor(app, log);

  /**
   * Writes one encoded message to its socket now. Its connection may have been ended since it was
   * sent (an end waits behind what was sent before it), but not closed.
   */
  const write = (connection: Connection, payload: Uint8Array | string, type: ServerMessage['t']): void => {
    const socket = connection.socket;
    if (socket === null) {
      metrics.sendsDropped.inc();
      return;
    }
    // Outside uWS's own (corked) callbacks: corking here lets uWS assemble the frame in its buffer
    // and write it once.
    let result = 0;
    socket.cork(() => {
      result = socket.send(payload, typeof payload !== 'string');
    });
    if (result === 2) metrics.sendsDropped.inc();
    else metrics.messagesOut.inc({ type });
  };
  const endNow = (connection: Connection, code: number, reason: string): void => {
    connection.socket?.end(code, reason);
  };
  /**
   * What this turn of the event loop sent and ended, in order, three slots each: a message's
   * connection, bytes and type, or an end's connection, close code and reason. Written together
   * once the turn's I/O is handled (`setImmediate`), as a server that writes to its clients before
   * it sleeps again does: a peer reading many sockets is then woken once for a run of answers
   * instead of once for each. What is queued while the queue is written (a close that a write set
   * off) is written in the same pass, after it.
   */
  const outbox: Array<Connection | Uint8Array | string | number> = [];
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    try {
      for (let index = 0; index < outbox.length; index += 3) {
        const connection = outbox[index] as Connection;
        const item = outbox[index + 1]!;
        if (typeof item === 'number') endNow(connection, item, outbox[index + 2] as string);
        else write(connection, item as Uint8Array | string, outbox[index + 2] as ServerMessage['t']);
      }
    } finally {
      // Written, or not writable any more: nothing of this pass is written twice.
      outbox.length = 0;
    }
  };
  const enqueue = (connection: Connection, item: Uint8Array | string | number, detail: string): void => {
    outbox.push(connection, item, detail);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const send = (connection: Connection, message: ServerMessage): void => {
    if (!connection.writable || connection.socket === null) {
      metrics.sendsDropped.inc();
      return;
    }
    // Encoded now: the message's objects may change after this returns; its bytes do not.
    enqueue(connection, encodeMessage(message, connection.encoding), message.t);
    if (message.t === 'error') metrics.errors.inc({ code: message.code });
  };

  const end = (connection: Connection, code: number, reason: string): void => {
    if (!connection.writable || connection.socket === null) return;
    connection.phase = 'ended';
    // Nothing sends to it from now on; what was sent before goes first.
    if (outbox.length === 0) endNow(connection, code, reason);
    else enqueue(connection, code, reason);
  };
  const io: ConnectionIo = { send, end };
  /** This gateway's connections: each reaches the gateway's `io` through its class, not a field of its own. */
  class GatewayConnection extends Connection {
    protected get io(): ConnectionIo {
      return io;
    }
  }

  // Tokens expire: one scan a second closes the sockets whose token has, instead of a timer per socket.
  const expiryScan = setInterval(() => {
    const at = now();
    for (const connection of connections) if (connection.expiresAtSeconds * 1000 <= at) end(connection, CloseCode.sessionExpired, 'token expired');
  }, limits.tokenExpiryScanMs);
  expiryScan.unref();

  /** Handles one decoded message in its connection's turn; never throws. */
  const process = async (connection: Connection, decoded: Decoded<ClientMessage>, encoding: Encoding): Promise<void> => {
    try {
      const session = connection.session;
      if (session === null || !connection.writable) return;
      if (!decoded.ok) return session.error(decoded.code, decoded.message, decoded.req);
      const message = decoded.value;
      if (message.t === 'hello') connection.heard(encoding, true);
      try {
        await session.handle(message);
      } catch (error) {
        log.error({ err: error, session: session.sessionId, user: session.userId, type: message.t }, 'message handling failed');
        session.error(ErrorCode.internal, 'the server could not process this message; try again', 'id' in message ? message.id : undefined);
      }
    } catch (error) {
      log.error({ err: error }, 'unexpected failure in message chain');
    } finally {
      connection.inFlight -= 1;
      // An idle connection holds no promise of its own.
      if (connection.inFlight === 0) connection.chain = settled;
    }
  };

  const onMessage = (socket: uWS.WebSocket<SocketData>, buffer: ArrayBuffer, isBinary: boolean) => {
    const { connection } = socket.getUserData();
    if (connection.phase !== 'open' || connection.session === null) return;
    if (buffer.byteLength > protocolLimits.messageBytesMax) {
      metrics.messagesIn.inc({ type: 'too_large' });
      // Answer what came before it, then close: an oversize message ends the session, not its history.
      connection.phase = 'closing';
      connection.chain = connection.chain.then(() => end(connection, CloseCode.messageTooBig, 'message too big'));
      return;
    }
    const encoding: Encoding = isBinary ? 'msgpack' : 'json';
    connection.heard(encoding, false);
    if (!connection.admit(bucketNow())) {
      metrics.messagesIn.inc({ type: 'rate_limited' });
      return connection.session.error(ErrorCode.rateLimited, `more than ${limits.messagesPerSecondMax} messages per second; message dropped`);
    }
    if (connection.inFlight >= limits.pendingMessagesPerConnectionMax) {
      metrics.messagesIn.inc({ type: 'overloaded' });
      return connection.session.error(ErrorCode.overloaded, 'too many requests in flight; message dropped');
    }
    // Decoded now, while uWS's buffer is valid (it is neutered when this callback returns): the
    // message is plain values from here on, so the bytes need no copy.
    const decoded = decodeClientMessage(new Uint8Array(buffer), encoding);
    metrics.messagesIn.inc({ type: decoded.ok ? decoded.value.t : 'invalid' });
    connection.inFlight += 1;
    // Messages are handled one at a time, in order: the first of an idle connection at once.
    const turn = connection.inFlight === 1 ? process(connection, decoded, encoding) : connection.chain.then(() => process(connection, decoded, encoding));
    // A message handled to its end already (nothing awaited) has left the connection idle.
    if (connection.inFlight > 0) connection.chain = turn;
  };

  const upgrade = (response: uWS.HttpResponse, request: uWS.HttpRequest, context: uWS.us_socket_context_t) => {
    let aborted = false;
    response.onAborted(() => {
      aborted = true;
    });
    // Everything needed from the request must be read now: it is invalid after the first await.
    const key = request.getHeader('sec-websocket-key');
    const protocol = request.getHeader('sec-websocket-protocol');
    const extensions = request.getHeader('sec-websocket-extensions');
    const authorization = request.getHeader('authorization');
    const connectionHeader = request.getHeader('connection');
    const query = request.getQuery() ?? '';
    const refuse = (code: number, body: { code: string; message: string }) => {
      metrics.upgradesRefused.inc({ status: String(code) });
      if (aborted) return;
      response.cork(() => {
        response.writeStatus(status(code)).writeHeader('content-type', 'application/json').writeHeader('connection', 'close').end(JSON.stringify({ error: body }), true);
      });
    };
    // uWS takes any GET with a key for a handshake; one that asks to close the connection (or
    // omits Upgrade) would be closed right after its 101.
    if (!/(^|,)\s*upgrade\s*(,|$)/i.test(connectionHeader)) return refuse(400, { code: 'bad_handshake', message: 'a WebSocket handshake needs "Connection: Upgrade"' });
    if (!accepting) return refuse(503, { code: 'shutting_down', message: 'the server is shutting down; reconnect shortly' });
    if (connections.size >= limits.connectionsMax) return refuse(503, { code: 'at_capacity', message: 'too many connections on this server' });
    if (authorization.length + query.length > limits.tokenBytesMax) return refuse(401, { code: 'invalid_token', message: 'token too long' });
    const started = performance.now();
    options
      .authenticate(tokenFrom(query, authorization))
      .then((result) => {
        if (!result.ok) return refuse(result.status, { code: result.code, message: result.message });
        if (aborted) return;
        const connection = new GatewayConnection(result.expiresAtMs, bucketNow());
        // Corked on the anchor's socket, not on its own (see anchor.ts).
        anchor!.run(() => response.cork(() => response.upgrade<SocketData>({ connection, account: result.account }, key, protocol, extensions, context)));
        metrics.sessionStart.observe({ stage: 'upgrade' }, (performance.now() - started) / 1000);
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'authentication failed unexpectedly');
        refuse(503, { code: 'unavailable', message: 'authentication is unavailable; try again' });
      });
  };

  if (options.openSession !== null) app.ws<SocketData>('/v1/stream', {
    ...socketSettings,
    upgrade,
    open: (socket) => {
      const data = socket.getUserData();
      const { connection } = data;
      connection.socket = socket;
      connection.phase = 'open';
      connections.add(connection);
      metrics.connections.inc();
      connection.session = options.openSession!(data.account!, connection);
      data.account = null;
    },
    message: onMessage,
    close: (socket, code) => {
      const { connection } = socket.getUserData();
      connection.phase = 'ended';
      connection.socket = null;
      connection.session?.closed();
      connections.delete(connection);
      metrics.connections.dec();
      metrics.closes.inc({ code: closeCodeLabel(code) });
    },
  });

  app.any('/*', (response, request) => serveHttp(response, request));

  function serveHttp(response: uWS.HttpResponse, request: uWS.HttpRequest): void {
    let aborted = false;
    response.onAborted(() => {
      aborted = true;
    });
    const method = request.getCaseSensitiveMethod().toUpperCase();
    const headers = new Map<string, string>();
    request.forEach((name, value) => headers.set(name.toLowerCase(), value));
    const httpRequest: Omit<HttpRequest, 'body'> = {
      method,
      path: request.getUrl(),
      query: new URLSearchParams(request.getQuery() ?? ''),
      header: (name) => headers.get(name) ?? '',
    };
    const reply = (result: HttpResponse) => {
      if (aborted) return;
      response.cork(() => {
        response.writeStatus(status(result.status));
        for (const [name, value] of Object.entries(result.headers)) response.writeHeader(name, value);
        response.end(result.body);
      });
    };
    const run = (body: Buffer | null) => {
      if (!accepting) return reply({ status: 503, headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"error":{"code":"shutting_down","message":"the server is shutting down"}}' });
      options.routes.handle({ ...httpRequest, body }).then(reply, (error: unknown) => {
        log.error({ err: error, path: httpRequest.path }, 'HTTP route failed');
        reply({ status: 500, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"internal","message":"internal error"}}' });
      });
    };
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'DELETE') return run(null);
    // The routes bound the body from the head alone (a frame upload may be large, and only with
    // the admin token), so no request makes the server hold more than its route allows.
    const admission = options.routes.admit(httpRequest);
    if ('refusal' in admission) return replyUnread(response, admission.refusal, reply);
    const { bodyBytesMax } = admission;
    const tooLarge = () => replyUnread(response, {
      status: 413, headers: { 'content-type': 'application/json' },
      body: `{"error":{"code":"too_large","message":"this request's body is limited to ${bodyBytesMax} bytes"}}`,
    }, reply);
    if (Number(headers.get('content-length') ?? 0) > bodyBytesMax) return tooLarge();
    readBody(response, bodyBytesMax, (body) => (body === null ? tooLarge() : run(body)));
  }

  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (listenSocket) => {
      if (listenSocket === false) return reject(new Error(`cannot listen on ${options.host}:${options.port}`));
      const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
      const anchored = anchor === null ? Promise.resolve(true) : anchor.connect(options.host, port, limits.corkAnchorConnectMs);
      // Served once the anchor is open, so that no first connection is upgraded without it.
      void anchored.then((connected) => {
        if (!connected) log.warn('cork anchor not connected; WebSocket upgrades run uncorked until it is');
        resolve(gateway);
      });
      const gateway: Gateway = {
        port,
        connectionCount: () => connections.size,
        stopAccepting: () => {
          if (!accepting) return;
          accepting = false;
          uWS.us_listen_socket_close(listenSocket);
        },
        closeAll: (code, reason) => {
          // A copy: closing one socket runs its close handler at once, and a handler that closed
          // another would take that one out of the list while the loop stood before it.
          for (const connection of [...connections]) end(connection, code, reason);
        },
        drain: async (timeoutMs) => {
          const chains = Promise.allSettled([...connections].map((connection) => connection.chain));
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([chains, new Promise((done) => (timer = setTimeout(done, timeoutMs)))]);
          clearTimeout(timer);
        },
        close: () => {
          // What was sent and ended before goes out first.
          flush();
          clearInterval(expiryScan);
          anchor?.close();
          (app as unknown as { close: () => void }).close();
        },
      };
    });
  });
}

/**
 * Answers before (the rest of) the body is read, then closes the connection: the unread bytes
 * are dropped as they arrive, never buffered.
 */
function replyUnread(response: uWS.HttpResponse, result: HttpResponse, reply: (result: HttpResponse) => void): void {
  response.onData(() => undefined);
  reply({ ...result, headers: { ...result.headers, connection: 'close' } });
}

/** Collects a request body up to `bytesMax`; hands `null` when it is larger. */
function readBody(response: uWS.HttpResponse, bytesMax: number, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let overflowed = false;
  response.onData((chunk, isLast) => {
    if (overflowed) return;
    size += chunk.byteLength;
    if (size > bytesMax) {
      overflowed = true;
      return done(null);
    }
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) done(Buffer.concat(chunks));
  });
}

/** The codes the protocol names and 1005/1006 (no code, dropped) are labels; a client's own code is "other", so clients cannot mint series. */
const knownCloseCodes = new Set<number>([...Object.values(CloseCode), 1005, 1006]);
const closeCodeLabel = (code: number): string => (knownCloseCodes.has(code) ? String(code) : 'other');
