/**
 * The Titrate client: one socket to `/v1/stream`, and the pure parts (prefetch queue, beacon
 * queue, offline cache, backoff, state machine) wired to it. This is the only module that touches
 * a socket, `fetch` or a timer; everything it decides, it decides by calling the pure modules.
 *
 * The life of a connection: an attempt opens a socket with `?token=`, sends `hello` (with `resume`
 * after the first session), and waits for `welcome`; then the state is `live` and requests, beacons
 * and stock requests flow through one paced outbox. A lost connection puts every unanswered request
 * and unacknowledged beacon back in line (same ids), and attempts follow with full-jitter backoff.
 * A socket that fails before opening may have been refused for its token, which a browser cannot
 * see, so the client asks `GET /v1/auth/check` and refreshes the token once or stops as
 * `unauthorized` instead of retrying a token that will never work.
 */
import {
  Context as ContextSchema,
  ErrorCode,
  ServerMessage,
  decodeServerMessage,
  describeIssues,
  encodeMessage,
  protocolLimits,
  protocolVersion,
  utf8ByteLength,
  type Ack,
  type ClientMessage,
  type Context,
  type Encoding,
  type ErrorMessage,
  type FrameMessage,
  type StockFrame,
  type StockMessage,
  type Welcome,
} from '@titrate/shared';
import { checkToken } from './authCheck.js';
import { BeaconQueue } from './beaconQueue.js';
import { BoundedSet } from './boundedSet.js';
import { ConnectionStateMachine, isDisconnected, isTerminal, type ConnectionState } from './connectionState.js';
import { beaconFor, type ShownFrame } from './dwell.js';
import { Emitter } from './emitter.js';
import { httpBaseOf, parseStreamUrl, resolveUrl, streamUrlWithToken } from './endpoints.js';
import { ClientErrorCode, TitrateError } from './errors.js';
import { IdSource } from './ids.js';
import { sdkLimits } from './limits.js';
import { OfflineCache, type CachedFrame } from './offlineCache.js';
import { Pacer } from './pacer.js';
import {
  globalFetch,
  globalTimers,
  globalWebSocket,
  newAbortController,
  socketOpen,
  type FetchFunction,
  type SocketEvent,
  type Timers,
  type WebSocketConstructor,
  type WebSocketLike,
} from './platform.js';
import { PrefetchQueue, isDroppable, labelsOf, type ReadyFrame } from './prefetch.js';
import { attemptsExhausted, backoffDelayMs, closeAction, type ReconnectOptions } from './reconnect.js';
import type { AccountSummary, ClientEvents, ClientOptions, ClientStats, Frame } from './types.js';

type Settings = {
  url: string;
  httpBase: string;
  encoding: Encoding;
  prefetch: number;
  autoShown: boolean;
  reconnect: ReconnectOptions;
  WebSocket: WebSocketConstructor;
  fetch: FetchFunction | null;
  now: () => number;
  random: () => number;
  timers: Timers;
};

type Waiter = { resolve: (frame: Frame) => void; reject: (error: TitrateError) => void };
type BurstWaiter = { promise: Promise<Ack>; resolve: (ack: Ack) => void; reject: (error: TitrateError) => void };
type Outgoing = { message: ClientMessage; sent: (nowMs: number) => void };

/** Errors after which the same `next` id is simply sent again (the server did not decide it). */
const retryableCodes: readonly string[] = [ErrorCode.rateLimited, ErrorCode.overloaded, ErrorCode.internal];

export class TitrateClient {
  readonly #settings: Settings;
  readonly #options: ClientOptions;
  readonly #events = new Emitter<ClientEvents>();
  readonly #machine = new ConnectionStateMachine();
  readonly #prefetch: PrefetchQueue;
  readonly #beacons: BeaconQueue;
  readonly #cache: OfflineCache;
  readonly #ids: IdSource;
  readonly #pacer: Pacer;
  /** Decision ids handed out: no decision is handed out twice. */
  readonly #handedOut = new BoundedSet(sdkLimits.shownRememberedMax);
  /** Frame ids shown offline whose beacon may not have reached the server before a decision repeats them. */
  readonly #shownOffline = new BoundedSet(sdkLimits.offlineCacheSizeMax * 4);

  #socket: WebSocketLike | null = null;
  #welcomedSocket: WebSocketLike | null = null;
  #session: string | null = null;
  #context: Context;
  #conserve: boolean | null = null;
  #summary: AccountSummary | null = null;
  /** Consecutive failed attempts since the last `welcome`. */
  #failures = 0;
  /** The token was refreshed since the last `welcome` (a second refusal means unauthorized). */
  #refreshUsed = false;
  #refreshedToken: string | null = null;
  /** `next()` was called: from now on frames are kept ahead. */
  #playing = false;
  /** An error answering a `next` (`no_frame`, …) stops the prefetch until the player asks again. */
  #prefetchPaused = false;
  #closing: Promise<void> | null = null;
  readonly #waiters: Waiter[] = [];
  readonly #connectWaiters: Array<{ resolve: (welcome: Welcome) => void; reject: (error: TitrateError) => void }> = [];
  readonly #bursts = new Map<string, BurstWaiter>();
  readonly #outbox: Outgoing[] = [];
  #current: ShownFrame | null = null;
  #stockRequest: { id: string; count: number; timer: unknown } | null = null;
  #stockNotBeforeMs = 0;
  /** A context change asks for a full stock of the new context, even when the cache is not low. */
  #restockWanted = false;
  readonly #imageQueue: StockFrame[] = [];
  #imageFetches = 0;
  /** The client's own timers: the next attempt, the connect deadline, the outbox's next look. */
  readonly #handles: Record<'attempt' | 'connect' | 'tick', unknown> = { attempt: null, connect: null, tick: null };
  #welcomes = 0;
  #lastWelcome: Welcome | null = null;
  readonly #counters = {
    framesShown: 0, offlineShown: 0, beaconsSent: 0, beaconsAcknowledged: 0, reconnects: 0, connectionAttempts: 0,
    invalidServerMessages: 0, framesDropped: 0,
  };

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#settings = settingsOf(options);
    const parsed = ContextSchema.safeParse(options.context);
    if (!parsed.success) throw new TitrateError(ClientErrorCode.invalidContext, `invalid context: ${describeIssues(parsed.error)}`);
    this.#context = parsed.data;
    const cacheSize = options.offlineCacheSize ?? sdkLimits.offlineCacheSizeDefault;
    inRange('offlineCacheSize', cacheSize, sdkLimits.offlineCacheSizeMin, sdkLimits.offlineCacheSizeMax);
    const beaconQueueMax = options.beaconQueueMax ?? sdkLimits.beaconQueueDefault;
    inRange('beaconQueueMax', beaconQueueMax, 1, sdkLimits.beaconQueueMaxLimit);
    if (options.device !== undefined && options.device.length > protocolLimits.deviceLengthMax) {
      throw new RangeError(`device must be at most ${protocolLimits.deviceLengthMax} characters`);
    }
    this.#prefetch = new PrefetchQueue(sdkLimits.prefetchMax + sdkLimits.nextWaitersMax);
    this.#beacons = new BeaconQueue({ capacity: beaconQueueMax, inFlightMax: sdkLimits.beaconsInFlightMax, ackTimeoutMs: sdkLimits.beaconAckTimeoutMs });
    this.#cache = new OfflineCache({ capacity: cacheSize, usedRememberedMax: sdkLimits.usedFramesRememberedMax });
    this.#ids = new IdSource(this.#settings.random);
    this.#pacer = new Pacer(sdkLimits.sendRatePerSecond, sdkLimits.sendBurst, this.#settings.now());
  }

  // --- Public API ---------------------------------------------------------------------------------

  get state(): ConnectionState {
    return this.#machine.state;
  }

  /** Frames from the offline cache are being shown (the connection is down). */
  get showingCached(): boolean {
    return this.#machine.state === 'offline';
  }

  /** The session id of the last `welcome` (sent as `hello.resume` on reconnect). */
  get session(): string | null {
    return this.#session;
  }

  get context(): Context {
    return this.#context;
  }

  /** Balance, forecast and mix as last heard from the server; null before the first `welcome`. */
  get account(): AccountSummary | null {
    return this.#summary;
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Starts connecting (if not yet). Resolves with the current session's `welcome` (waiting through
   * failed attempts for one); rejects if the client ends first (`unauthorized`, `closed`).
   */
  connect(): Promise<Welcome> {
    const terminal = this.#terminalError();
    if (terminal !== null) return Promise.reject(terminal);
    if (this.#machine.state === 'live' && this.#lastWelcome !== null) return Promise.resolve(this.#lastWelcome);
    const promise = new Promise<Welcome>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#machine.state === 'idle') {
      this.#setState('connecting', null);
      void this.#attempt();
    }
    return promise;
  }

  /**
   * The next frame to show. Frames already ready come first; while disconnected, frames from the
   * offline cache; otherwise the promise waits for the server (through `pending` and reconnects).
   */
  next(): Promise<Frame> {
    const terminal = this.#terminalError();
    if (terminal !== null) return Promise.reject(terminal);
    this.#playing = true;
    this.#prefetchPaused = false;
    if (this.#machine.state === 'idle') this.connect().catch(() => undefined);
    const ready = this.#prefetch.take();
    if (ready !== null) return Promise.resolve(this.#afterHandOut(this.#handOut(ready)));
    if (isDisconnected(this.#machine.state)) {
      const cached = this.#cache.take();
      if (cached !== null) return Promise.resolve(this.#afterHandOut(this.#handOutOffline(cached)));
    }
    if (this.#waiters.length >= sdkLimits.nextWaitersMax) {
      return Promise.reject(new TitrateError(ClientErrorCode.tooManyWaiting, `more than ${sdkLimits.nextWaitersMax} next() calls are waiting`));
    }
    const promise = new Promise<Frame>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#topUp();
    this.#pump();
    return promise;
  }

  /** With `autoShown: false`: the frame is on screen now. The previous frame's dwell ends here. */
  shown(frame: Frame): void {
    if (frame.shownAt !== undefined || isTerminal(this.#machine.state)) return;
    this.#show(frame);
  }

  /** Marks the frame on screen as liked (reported in its beacon). */
  like(): void {
    if (this.#current !== null) this.#current.liked = true;
  }

  /** Marks the frame on screen as skipped (reported in its beacon); the player then asks `next()`. */
  skip(): void {
    if (this.#current !== null) this.#current.skipped = true;
  }

  /**
   * The music changed. The server decides later frames for the new context; free library frames
   * already fetched for another genre/mood are dropped unseen, fresh or charged ones are still shown.
   */
  setContext(context: Context): void {
    const parsed = ContextSchema.safeParse(context);
    if (!parsed.success) throw new TitrateError(ClientErrorCode.invalidContext, `invalid context: ${describeIssues(parsed.error)}`);
    if (isTerminal(this.#machine.state)) return;
    const labels = labelsOf(parsed.data);
    const changed = labels !== labelsOf(this.#context);
    this.#context = parsed.data;
    if (this.#machine.state === 'live') {
      const earlier = this.#outbox.findIndex((item) => item.message.t === 'context');
      if (earlier >= 0) this.#outbox.splice(earlier, 1);
      this.#queueControl({ t: 'context', context: parsed.data });
    }
    if (changed) {
      this.#counters.framesDropped += this.#prefetch.contextChanged(labels).length;
      this.#restockWanted = true;
      this.#topUp();
      this.#refillStock();
    }
    this.#pump();
  }

  /** Conserve mode: the server halves the chance of fresh frames. Remembered across reconnects. */
  conserve(on: boolean): void {
    if (isTerminal(this.#machine.state)) return;
    this.#conserve = on;
    if (this.#machine.state === 'live') this.#queueControl({ t: 'conserve', on });
    this.#pump();
  }

  /** Buys a burst (always fresh for a while); resolves with its `ack`, ok or not. Sent again after a reconnect. */
  burst(id?: string): Promise<Ack> {
    const terminal = this.#terminalError();
    if (terminal !== null) return Promise.reject(terminal);
    const burstId = id ?? this.#ids.next('b');
    if (burstId.length < 1 || burstId.length > protocolLimits.requestIdLengthMax) throw new RangeError('a burst id is 1..64 characters');
    const existing = this.#bursts.get(burstId);
    if (existing !== undefined) return existing.promise;
    if (this.#bursts.size >= sdkLimits.burstsPendingMax) {
      return Promise.reject(new TitrateError(ClientErrorCode.tooManyPending, `more than ${sdkLimits.burstsPendingMax} bursts are waiting`));
    }
    let resolve!: (ack: Ack) => void;
    let reject!: (error: TitrateError) => void;
    const promise = new Promise<Ack>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#bursts.set(burstId, { promise, resolve, reject });
    if (this.#machine.state === 'idle') this.connect().catch(() => undefined);
    if (this.#machine.state === 'live') this.#queueControl({ t: 'burst', id: burstId });
    this.#pump();
    return promise;
  }

  /** Ends the frame on screen (its beacon is sent if connected), closes with 1000; state `closed`. */
  close(): Promise<void> {
    if (isTerminal(this.#machine.state)) return Promise.resolve();
    this.#closing ??= this.#closeGracefully();
    return this.#closing;
  }

  stats(): ClientStats {
    return {
      ...this.#counters,
      beaconsQueued: this.#beacons.size,
      beaconsDropped: this.#beacons.dropped,
      offlineCached: this.#cache.size,
      framesReady: this.#prefetch.readyCount,
      requestsOutstanding: this.#prefetch.outstanding,
    };
  }

  // --- Connection -----------------------------------------------------------------------------------

  #setState(next: ConnectionState, reason: string | null): void {
    const previous = this.#machine.set(next);
    this.#events.emit('state', { state: next, previous, reason, showingCached: next === 'offline' });
  }

  #terminalError(): TitrateError | null {
    if (this.#closing !== null || this.#machine.state === 'closed') return new TitrateError(ClientErrorCode.closed, 'the client is closed');
    if (this.#machine.state === 'unauthorized') return new TitrateError(ClientErrorCode.unauthorized, 'the token was refused');
    return null;
  }

  async #token(): Promise<string> {
    if (this.#refreshedToken !== null) return this.#refreshedToken;
    const token = this.#options.token;
    return typeof token === 'string' ? token : await token();
  }

  /** One connection attempt: open a socket with the token and say hello. */
  async #attempt(): Promise<void> {
    this.#handles.attempt = null;
    let token: string;
    try {
      token = await this.#token();
    } catch {
      return this.#attemptFailed('the token could not be obtained');
    }
    if (isTerminal(this.#machine.state) || this.#closing !== null) return;
    let socket: WebSocketLike;
    try {
      socket = new this.#settings.WebSocket(streamUrlWithToken(this.#settings.url, token));
      socket.binaryType = 'arraybuffer';
    } catch {
      return this.#attemptFailed('the socket could not be created');
    }
    this.#counters.connectionAttempts += 1;
    this.#socket = socket;
    this.#welcomedSocket = null;
    let opened = false;
    this.#handles.connect = this.#settings.timers.setTimeout(() => {
      if (socket !== this.#socket) return;
      this.#dropSocket(socket);
      this.#connectionLost();
      this.#attemptFailed(opened ? 'no welcome in time' : 'the socket did not open in time');
    }, sdkLimits.connectTimeoutMs);
    socket.addEventListener('open', () => {
      if (socket !== this.#socket) return;
      opened = true;
      this.#sendHello();
    });
    socket.addEventListener('message', (event: SocketEvent) => {
      if (socket === this.#socket) this.#receive(event.data);
    });
    socket.addEventListener('close', (event: SocketEvent) => {
      if (socket === this.#socket) this.#socketClosed(opened, event.code ?? 1006, event.reason ?? '', token);
    });
    // A close event follows every error; listening keeps `ws` from throwing an unhandled 'error'.
    socket.addEventListener('error', () => undefined);
  }

  #sendHello(): void {
    const hello: ClientMessage = { t: 'hello', v: protocolVersion, orientation: this.#options.orientation, context: this.#context };
    if (this.#session !== null) hello.resume = this.#session;
    if (this.#options.device !== undefined) hello.device = this.#options.device;
    this.#pacer.take(this.#settings.now());
    this.#send(hello);
  }

  /** Forgets the socket (its later events are ignored) and closes it if it is still open. */
  #dropSocket(socket: WebSocketLike): void {
    if (this.#socket === socket) this.#socket = null;
    this.#clearTimer('connect');
    this.#clearTimer('tick');
    try {
      socket.close(1000, 'client');
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone either way.
    }
  }

  /** Everything that was on the wire goes back in line for the next connection. */
  #connectionLost(): void {
    this.#welcomedSocket = null;
    this.#prefetch.connectionLost();
    this.#beacons.connectionLost();
    this.#outbox.length = 0;
    if (this.#stockRequest !== null) {
      this.#settings.timers.clearTimeout(this.#stockRequest.timer as never);
      this.#stockRequest = null;
    }
  }

  #socketClosed(opened: boolean, code: number, reason: string, token: string): void {
    const welcomed = this.#welcomedSocket === this.#socket;
    this.#socket = null;
    this.#clearTimer('connect');
    this.#clearTimer('tick');
    this.#connectionLost();
    if (this.#closing !== null) return;
    if (!opened) {
      void this.#afterFailedOpen(token);
      return;
    }
    const described = `the server closed the connection (${code}${reason === '' ? '' : ` ${reason}`})`;
    const action = closeAction(code);
    if (action === 'unauthorized') return this.#finish('unauthorized', described);
    if (action === 'stop') return this.#finish('closed', described);
    if (!welcomed) this.#failures += 1;
    this.#enterReconnecting(described);
    if (action === 'refresh') void this.#refreshThenRetry();
    else this.#scheduleAttempt();
  }

  /** The socket failed before opening: a refused token or a network failure? Ask the server. */
  async #afterFailedOpen(token: string): Promise<void> {
    const fetch = this.#settings.fetch;
    const verdict = fetch === null ? 'unknown' : await checkToken(fetch, this.#settings.httpBase, token, this.#settings.timers, sdkLimits.authCheckTimeoutMs);
    if (isTerminal(this.#machine.state) || this.#closing !== null) return;
    if (verdict !== 'refused') return this.#attemptFailed(verdict === 'accepted' ? 'the connection failed (token accepted)' : 'the server is unreachable');
    const refresh = this.#options.refreshToken;
    if (refresh === undefined || this.#refreshUsed) return this.#finish('unauthorized', 'the server refused the token');
    this.#refreshUsed = true;
    try {
      this.#refreshedToken = await refresh();
    } catch {
      this.#refreshUsed = false;
      return this.#attemptFailed('the token could not be refreshed');
    }
    if (isTerminal(this.#machine.state) || this.#closing !== null) return;
    void this.#attempt();
  }

  /** 4001: the token expired while connected. Refresh it, then reconnect as usual. */
  async #refreshThenRetry(): Promise<void> {
    const refresh = this.#options.refreshToken;
    if (refresh !== undefined) {
      this.#refreshUsed = true;
      try {
        this.#refreshedToken = await refresh();
      } catch {
        this.#refreshUsed = false;
        this.#failures += 1;
      }
    }
    if (isTerminal(this.#machine.state) || this.#closing !== null) return;
    this.#scheduleAttempt();
  }

  #attemptFailed(reason: string): void {
    if (isTerminal(this.#machine.state) || this.#closing !== null) return;
    this.#failures += 1;
    this.#enterReconnecting(reason);
    this.#scheduleAttempt();
  }

  #enterReconnecting(reason: string): void {
    const state = this.#machine.state;
    if (state === 'connecting' || state === 'live') this.#setState('reconnecting', reason);
    this.#serveWaitersOffline();
  }

  #scheduleAttempt(): void {
    const { reconnect, random, timers } = this.#settings;
    if (attemptsExhausted(this.#failures, reconnect)) return this.#finish('closed', `gave up after ${this.#failures} failed attempts`);
    const delayMs = backoffDelayMs(this.#failures, random, reconnect);
    this.#clearTimer('attempt');
    this.#handles.attempt = timers.setTimeout(() => void this.#attempt(), delayMs);
  }

  /** Ends the client for good: `closed` or `unauthorized`. */
  #finish(state: 'closed' | 'unauthorized', reason: string): void {
    if (isTerminal(this.#machine.state)) return;
    const socket = this.#socket;
    if (socket !== null) this.#dropSocket(socket);
    this.#connectionLost();
    for (const timer of ['attempt', 'connect', 'tick'] as const) this.#clearTimer(timer);
    this.#prefetch.clear();
    this.#imageQueue.length = 0;
    this.#setState(state, reason);
    const error =
      state === 'closed' ? new TitrateError(ClientErrorCode.closed, `the client is closed: ${reason}`) : new TitrateError(ClientErrorCode.unauthorized, reason);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    for (const burst of this.#bursts.values()) burst.reject(error);
    this.#bursts.clear();
  }

  async #closeGracefully(): Promise<void> {
    let last: string | null = null;
    if (this.#current !== null) last = this.#endDwell(this.#settings.now());
    if (this.#machine.state === 'live' && last !== null) {
      this.#pump();
      await this.#settled(last, sdkLimits.closeAckWaitMs);
    }
    this.#finish('closed', 'closed by the player');
  }

  /** Resolves when the beacon `id` is acknowledged, or after `timeoutMs`. */
  #settled(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#settings.timers.setTimeout(() => {
        unsubscribe();
        resolve();
      }, timeoutMs);
      const unsubscribe = this.#events.on('beacon', (answer) => {
        if (answer.beacon.id !== id) return;
        this.#settings.timers.clearTimeout(timer as never);
        unsubscribe();
        resolve();
      });
      if (!this.#beacons.has(id)) {
        this.#settings.timers.clearTimeout(timer as never);
        unsubscribe();
        resolve();
      }
    });
  }

  #clearTimer(which: 'attempt' | 'connect' | 'tick'): void {
    const handle = this.#handles[which];
    if (handle === null) return;
    this.#settings.timers.clearTimeout(handle as never);
    this.#handles[which] = null;
  }

  // --- Receiving ----------------------------------------------------------------------------------

  #receive(data: unknown): void {
    const bytes = asBytes(data);
    if (bytes === null || (typeof bytes === 'string' ? utf8ByteLength(bytes) : bytes.byteLength) > sdkLimits.serverMessageBytesMax) {
      this.#counters.invalidServerMessages += 1;
      return;
    }
    let value: unknown;
    try {
      value = decodeServerMessage(bytes, typeof bytes === 'string' ? 'json' : 'msgpack');
    } catch {
      this.#counters.invalidServerMessages += 1;
      return;
    }
    const parsed = ServerMessage.safeParse(value);
    if (!parsed.success) {
      this.#counters.invalidServerMessages += 1;
      return;
    }
    this.#handle(parsed.data);
  }

  #handle(message: ServerMessage): void {
    switch (message.t) {
      case 'welcome':
        return this.#onWelcome(message);
      case 'frame':
        this.#onFrame(message);
        return this.#events.emit('frame', message);
      case 'pending':
        if (this.#prefetch.markPending(message.req, message.etaMs)) this.#schedule();
        return this.#events.emit('pending', message);
      case 'ack':
        this.#onAck(message);
        return this.#events.emit('ack', message);
      case 'balance':
        if (this.#summary !== null) this.#summary = { ...this.#summary, balance: message.balance, forecast: message.forecast };
        return this.#events.emit('balance', message);
      case 'notice':
        return this.#events.emit('notice', message);
      case 'error':
        this.#onError(message);
        return this.#events.emit('error', message);
      case 'stock':
        this.#onStock(message);
        return this.#events.emit('stock', message);
    }
  }

  #onWelcome(welcome: Welcome): void {
    const state = this.#machine.state;
    if (this.#closing !== null || (state !== 'connecting' && state !== 'reconnecting' && state !== 'offline') || this.#socket === null) {
      this.#counters.invalidServerMessages += 1;
      return;
    }
    this.#clearTimer('connect');
    this.#welcomedSocket = this.#socket;
    this.#session = welcome.session;
    this.#lastWelcome = welcome;
    this.#failures = 0;
    this.#refreshUsed = false;
    if (this.#welcomes > 0) this.#counters.reconnects += 1;
    this.#welcomes += 1;
    this.#summary = { balance: welcome.balance, forecast: welcome.forecast, mix: welcome.mix };
    this.#setState('live', welcome.resumed ? 'session resumed' : null);
    if (this.#conserve !== null && welcome.conserve !== this.#conserve) this.#queueControl({ t: 'conserve', on: this.#conserve });
    for (const id of this.#bursts.keys()) this.#queueControl({ t: 'burst', id });
    this.#topUp();
    this.#refillStock();
    this.#pump();
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve(welcome);
    this.#events.emit('welcome', welcome);
  }

  #onFrame(frame: FrameMessage): void {
    if (this.#summary !== null) this.#summary = { balance: frame.balance, forecast: frame.forecast, mix: frame.mix };
    const request = this.#prefetch.get(frame.req);
    if (request === undefined) return;
    // A decision already handed out, or a free repeat of a frame just shown offline: not shown again.
    const repeatOfOffline = isDroppable(frame) && this.#shownOffline.delete(frame.frameId);
    if (this.#handedOut.has(frame.id) || repeatOfOffline) {
      this.#prefetch.fail(frame.req);
      this.#counters.framesDropped += 1;
    } else if (this.#prefetch.answer(frame) === 'unwanted') {
      this.#counters.framesDropped += 1;
    }
    this.#serveWaiters();
    this.#topUp();
    this.#refillStock();
    this.#pump();
  }

  #onAck(ack: Ack): void {
    const beacon = this.#beacons.settle(ack.req);
    if (beacon !== null) {
      this.#counters.beaconsAcknowledged += 1;
      const reward = typeof ack['reward'] === 'number' ? ack['reward'] : null;
      const counted = typeof ack['counted'] === 'boolean' ? ack['counted'] : null;
      this.#events.emit('beacon', { beacon, ok: ack.ok, code: ack.code ?? null, reward, counted });
      this.#pump();
      return;
    }
    const burst = this.#bursts.get(ack.req);
    if (burst !== undefined) {
      this.#bursts.delete(ack.req);
      burst.resolve(ack);
    }
  }

  #onError(error: ErrorMessage): void {
    const req = error.req;
    if (req === undefined) return;
    if (this.#prefetch.get(req) !== undefined) return this.#onNextError(req, error);
    if (this.#beacons.has(req)) {
      // Dropped unread (rate, load, a server fault): it goes again after the next reconnect.
      if (retryableCodes.includes(error.code)) return;
      const beacon = this.#beacons.settle(req)!;
      this.#events.emit('beacon', { beacon, ok: false, code: error.code, reward: null, counted: null });
      return;
    }
    const burst = this.#bursts.get(req);
    if (burst !== undefined) {
      this.#bursts.delete(req);
      burst.reject(new TitrateError(error.code, error.message, req));
      return;
    }
    if (this.#stockRequest?.id === req) this.#stockFailed();
  }

  #onNextError(req: string, error: ErrorMessage): void {
    if (retryableCodes.includes(error.code) && this.#prefetch.get(req)!.retries < sdkLimits.nextRetriesMax) {
      this.#prefetch.retry(req, this.#settings.now() + sdkLimits.nextRetryDelayMs);
      this.#schedule();
      return;
    }
    this.#prefetch.fail(req);
    // Asking again at once would meet the same answer: the prefetch waits for the player's next call.
    this.#prefetchPaused = true;
    this.#waiters.shift()?.reject(new TitrateError(error.code, error.message, req));
    this.#pump();
  }

  // --- Frames -------------------------------------------------------------------------------------

  /** Requests enough frames to keep `prefetch` ahead of the waiting callers. */
  #topUp(): void {
    if (!this.#playing || this.#prefetchPaused || isTerminal(this.#machine.state) || this.#closing !== null) return;
    const missing = this.#prefetch.shortfall(this.#settings.prefetch, this.#waiters.length);
    const labels = labelsOf(this.#context);
    for (let index = 0; index < missing; index += 1) this.#prefetch.add(this.#ids.next('n'), labels, this.#settings.now());
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0) {
      const ready = this.#prefetch.take();
      if (ready === null) return;
      this.#waiters.shift()!.resolve(this.#handOut(ready));
    }
  }

  /** Disconnected: waiting callers get cached frames rather than a blank screen. */
  #serveWaitersOffline(): void {
    this.#serveWaiters();
    while (this.#waiters.length > 0) {
      const cached = this.#cache.take();
      if (cached === null) return;
      this.#waiters.shift()!.resolve(this.#handOutOffline(cached));
    }
  }

  #afterHandOut(frame: Frame): Frame {
    this.#topUp();
    this.#pump();
    return frame;
  }

  #handOut(ready: ReadyFrame): Frame {
    const { t, ...fields } = ready.message;
    void t;
    const frame: Frame = { ...fields, imageUrl: resolveUrl(this.#settings.httpBase, fields.url), offline: false };
    this.#handedOut.add(frame.id);
    this.#cache.markShown(frame.frameId);
    if (this.#settings.autoShown) this.#show(frame);
    return frame;
  }

  #handOutOffline(cached: CachedFrame): Frame {
    if (this.#machine.state === 'reconnecting') this.#setState('offline', 'showing frames from the offline cache');
    const { stock, bytes } = cached;
    const summary = this.#summary!;
    const frame: Frame = {
      id: stock.id, req: stock.id, source: 'library', frameId: stock.frameId, url: stock.url, width: stock.width, height: stock.height,
      orientation: stock.orientation, fallback: stock.fallback, charged: 0, p: 0, balance: summary.balance, forecast: summary.forecast,
      mix: summary.mix, genre: stock.genre, mood: stock.mood, style: stock.style, reasons: ['shown from the offline cache'],
      imageUrl: resolveUrl(this.#settings.httpBase, stock.url), offline: true, bytes,
    };
    this.#handedOut.add(frame.id);
    this.#shownOffline.add(frame.frameId);
    if (this.#settings.autoShown) this.#show(frame);
    return frame;
  }

  #show(frame: Frame): void {
    const nowMs = this.#settings.now();
    frame.shownAt = nowMs;
    if (this.#current !== null) this.#endDwell(nowMs);
    this.#current = { frame: frame.id, shownAtMs: nowMs, liked: false, skipped: false, offline: frame.offline };
    this.#counters.framesShown += 1;
    if (frame.offline) this.#counters.offlineShown += 1;
  }

  /** The frame on screen is replaced (or the client closes): its beacon joins the queue. Returns its id. */
  #endDwell(nowMs: number): string {
    const beacon = beaconFor(this.#current!, nowMs, this.#ids.next('u'));
    this.#current = null;
    this.#beacons.add(beacon);
    this.#pump();
    return beacon.id;
  }

  // --- Offline stock --------------------------------------------------------------------------------

  /** While live, asks for library frames when the cache (with downloads under way) is below half. */
  #refillStock(): void {
    if (this.#machine.state !== 'live' || this.#stockRequest !== null || this.#closing !== null) return;
    const nowMs = this.#settings.now();
    if (nowMs < this.#stockNotBeforeMs) return;
    const underWay = this.#imageQueue.length + this.#imageFetches;
    const restock = this.#restockWanted;
    if (!restock && this.#cache.size + underWay >= this.#cache.capacity / 2) return;
    const count = Math.min(protocolLimits.stockFramesMax, restock ? this.#cache.capacity : this.#cache.missing() - underWay);
    if (count < 1) return;
    this.#restockWanted = false;
    const id = this.#ids.next('s');
    const timer = this.#settings.timers.setTimeout(() => {
      if (this.#stockRequest?.id === id) this.#stockFailed();
    }, sdkLimits.stockAnswerTimeoutMs);
    this.#stockRequest = { id, count, timer };
    this.#queueControl({ t: 'stock', id, count });
  }

  #stockFailed(): void {
    if (this.#stockRequest !== null) this.#settings.timers.clearTimeout(this.#stockRequest.timer as never);
    this.#stockRequest = null;
    this.#stockNotBeforeMs = this.#settings.now() + sdkLimits.stockRetryDelayMs;
  }

  #onStock(stock: StockMessage): void {
    const asked = this.#stockRequest?.id === stock.req ? this.#stockRequest.count : null;
    if (asked !== null) {
      this.#settings.timers.clearTimeout(this.#stockRequest!.timer as never);
      this.#stockRequest = null;
    }
    let wanted = 0;
    for (const frame of stock.frames) {
      const queued = this.#imageQueue.some((waiting) => waiting.id === frame.id || waiting.frameId === frame.frameId);
      if (queued || !this.#cache.wants(frame) || this.#imageQueue.length >= this.#cache.capacity) continue;
      this.#imageQueue.push(frame);
      wanted += 1;
    }
    // The server is running out of unseen frames for this context: do not ask again at every frame.
    if (asked !== null && wanted < asked) this.#stockNotBeforeMs = this.#settings.now() + sdkLimits.stockRetryDelayMs;
    this.#fetchImages();
  }

  #fetchImages(): void {
    const fetch = this.#settings.fetch;
    if (fetch === null) return;
    while (this.#imageFetches < sdkLimits.imageFetchesInFlightMax && this.#imageQueue.length > 0) {
      const stock = this.#imageQueue.shift()!;
      this.#imageFetches += 1;
      fetchImage(fetch, resolveUrl(this.#settings.httpBase, stock.url), this.#settings.timers)
        .then((bytes) => {
          if (bytes !== null && !isTerminal(this.#machine.state)) this.#cache.add({ stock, bytes });
        })
        .finally(() => {
          this.#imageFetches -= 1;
          if (isTerminal(this.#machine.state)) return;
          this.#fetchImages();
          this.#refillStock();
          this.#pump();
        });
    }
  }

  // --- Sending ------------------------------------------------------------------------------------

  #queueControl(message: ClientMessage): void {
    if (this.#outbox.length >= sdkLimits.outboxMessagesMax) throw new Error('the outbox is full: a control message loop?');
    this.#outbox.push({ message, sent: () => this.#outbox.shift() });
  }

  /** What to send next: control messages, then `next` requests, then beacons. */
  #nextOutgoing(nowMs: number): Outgoing | null {
    const control = this.#outbox[0];
    if (control !== undefined) return control;
    const request = this.#prefetch.toSend(nowMs)[0];
    if (request !== undefined) return { message: { t: 'next', id: request.id }, sent: (at) => this.#prefetch.markSent(request.id, at) };
    const beacon = this.#beacons.nextToSend(nowMs);
    if (beacon !== null) {
      return {
        message: beacon,
        sent: (at) => {
          this.#beacons.markSent(beacon.id, at);
          this.#counters.beaconsSent += 1;
        },
      };
    }
    return null;
  }

  /** Sends what may be sent now, at the SDK's pace; schedules the next look. */
  #pump(): void {
    if (this.#machine.state !== 'live' || this.#socket === null) return;
    const nowMs = this.#settings.now();
    for (let item = this.#nextOutgoing(nowMs); item !== null; item = this.#nextOutgoing(nowMs)) {
      if (!this.#pacer.take(nowMs)) break;
      if (!this.#send(item.message)) return;
      item.sent(nowMs);
    }
    this.#schedule();
  }

  /** One timer for the soonest of: the send rate, a retry delay, a beacon slot, a request overdue. */
  #schedule(): void {
    this.#clearTimer('tick');
    if (this.#machine.state !== 'live' || this.#socket === null) return;
    const nowMs = this.#settings.now();
    const candidates: Array<number | null> = [
      this.#nextOutgoing(nowMs) === null ? null : this.#pacer.waitMs(nowMs),
      this.#prefetch.nextRetryInMs(nowMs),
      this.#beacons.slotFreesInMs(nowMs),
      this.#prefetch.overdueInMs(nowMs, sdkLimits.nextAnswerTimeoutMs),
    ];
    const soonest = candidates.filter((value): value is number => value !== null);
    if (soonest.length === 0) return;
    this.#handles.tick = this.#settings.timers.setTimeout(() => this.#tick(), Math.max(1, Math.min(...soonest)));
  }

  #tick(): void {
    this.#handles.tick = null;
    const socket = this.#socket;
    if (this.#machine.state !== 'live' || socket === null) return;
    if (this.#prefetch.overdue(this.#settings.now(), sdkLimits.nextAnswerTimeoutMs).length > 0) {
      // No answer at all, not even `pending`: the socket is half-open. Start over; the ids are kept.
      this.#dropSocket(socket);
      this.#connectionLost();
      this.#enterReconnecting('a request got no answer');
      this.#scheduleAttempt();
      return;
    }
    this.#pump();
  }

  #send(message: ClientMessage): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== socketOpen) return false;
    const payload = encodeMessage(message, this.#settings.encoding);
    try {
      // A copy: MessagePack output may be a view of a buffer the encoder reuses.
      socket.send(typeof payload === 'string' ? payload : new Uint8Array(payload));
      return true;
    } catch {
      return false;
    }
  }
}

function settingsOf(options: ClientOptions): Settings {
  parseStreamUrl(options.url);
  const WebSocket = options.WebSocket ?? globalWebSocket();
  if (WebSocket === undefined) throw new TypeError('no WebSocket in this environment: pass the WebSocket option (in Node, the `ws` package)');
  const prefetch = options.prefetch ?? sdkLimits.prefetchDefault;
  inRange('prefetch', prefetch, 0, sdkLimits.prefetchMax);
  const reconnect: ReconnectOptions = {
    baseMs: options.reconnect?.baseMs ?? sdkLimits.reconnectBaseMsDefault,
    maxMs: options.reconnect?.maxMs ?? sdkLimits.reconnectMaxMsDefault,
    attemptsMax: options.reconnect?.attemptsMax ?? sdkLimits.reconnectAttemptsMaxDefault,
  };
  inRange('reconnect.baseMs', reconnect.baseMs, 1, 3_600_000);
  inRange('reconnect.maxMs', reconnect.maxMs, reconnect.baseMs, 3_600_000);
  inRange('reconnect.attemptsMax', reconnect.attemptsMax, 1, sdkLimits.reconnectAttemptsMaxLimit);
  const defaults = options.setTimeout === undefined || options.clearTimeout === undefined ? globalTimers() : null;
  return {
    url: options.url,
    httpBase: httpBaseOf(options.url),
    encoding: options.encoding ?? 'msgpack',
    prefetch,
    autoShown: options.autoShown ?? true,
    reconnect,
    WebSocket,
    fetch: options.fetch ?? globalFetch() ?? null,
    now: options.now ?? (() => Date.now()),
    random: options.random ?? Math.random,
    timers: {
      setTimeout: options.setTimeout ?? defaults!.setTimeout,
      clearTimeout: options.clearTimeout ?? defaults!.clearTimeout,
    },
  };
}

function inRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
}

/** Socket message data as text or bytes; null for anything else (a Blob means binaryType was ignored). */
function asBytes(data: unknown): string | Uint8Array | null {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/** Downloads an image for the offline cache; null when it fails, is too large or too slow. */
async function fetchImage(fetch: FetchFunction, url: string, timers: Timers): Promise<Uint8Array | null> {
  const controller = newAbortController();
  let timer: unknown = null;
  const timeout = new Promise<null>((resolve) => {
    timer = timers.setTimeout(() => {
      controller?.abort();
      resolve(null);
    }, sdkLimits.imageFetchTimeoutMs);
  });
  const download = (async () => {
    const response = await fetch(url, controller === null ? {} : { signal: controller.signal });
    if (!response.ok) return null;
    const buffer = await response.arrayBuffer();
    return buffer.byteLength === 0 || buffer.byteLength > sdkLimits.imageBytesMax ? null : new Uint8Array(buffer);
  })().catch(() => null);
  try {
    return await Promise.race([download, timeout]);
  } finally {
    timers.clearTimeout(timer as never);
  }
}
