/**
 * The load generator: many player sessions over real WebSockets in one process, speaking protocol
 * v1 in MessagePack (or driving the bare echo with the same messages).
 *
 * Each session is a small state machine:
 *   connecting  the socket is opening (upgrade, then `hello`)
 *   live        `welcome` arrived; `next` requests go out on the session's schedule
 *   ending      its lifetime is over: no new requests, waiting for the outstanding answers
 *   closed      the driver stopped it
 * A socket that drops while live or ending reconnects with `resume` and sends its outstanding
 * `next` ids again, as the client SDK does, so the server's idempotency is what answers them.
 *
 * It is lean on purpose, so the generator is not what limits the measurement: `next` messages are
 * pre-encoded once and only the request id is written into a copy; one timer per session; latency
 * goes into HDR histograms (the time from sending `next` to receiving its `frame`).
 */
import { decodeServerMessage, encodeMessage, protocolVersion, type Context, type Orientation } from '@titrate/shared';
import WebSocket from 'ws';
import { newHistogram, recordMs, type Histogram } from './histogram.js';

export type SessionSpec = {
  user: string;
  token: string;
  device: string;
  orientation: Orientation;
  /** The playlist: the first is `hello`'s context, then one per track. */
  contexts: Context[];
  /**
   * paced: a `next` every `intervalMs` (open loop, as a player's clock does);
   * closed: the next `next` as soon as the previous one is answered (at most `rateMax` a second);
   * idle: `hello`, then nothing.
   */
  mode: 'paced' | 'closed' | 'idle';
  intervalMs: [number, number];
  rateMax: number;
  /** `next` requests per track; 0 keeps the first context. */
  contextEvery: number;
  /** Sends a beacon (with an id, so it is acknowledged) for each frame when the next one arrives. */
  beacons: boolean;
  likeShare: number;
  /** A short session: after this long it stops asking, closes, and a new session starts. */
  lifetimeMs: [number, number] | null;
  /** Buys a burst ("always fresh for 15 minutes") once per session. */
  burst: boolean;
};

export type DriverOptions = {
  /** `ws://host:port/v1/stream` of a Titrate server or of the echo. */
  urls: string[];
  target: 'titrate' | 'echo';
  /** Upgrades started per second while sessions are added (a reconnect storm ignores it). */
  connectPerSecond: number;
  /** Makes request ids unique across generator processes. */
  prefix: string;
  seed: number;
};

export type DriverCounts = {
  sessionsStarted: number;
  welcomes: number;
  resumed: number;
  connectRefused: Record<string, number>;
  unexpectedCloses: Record<string, number>;
  nextsSent: number;
  frames: { library: number; fresh: number };
  pendings: number;
  chargedFrames: number;
  creditsCharged: number;
  fallbacks: Record<string, number>;
  beaconsSent: number;
  acks: number;
  beaconRefusals: Record<string, number>;
  burstsSent: number;
  burstsCharged: number;
  burstRefusals: Record<string, number>;
  errors: Record<string, number>;
  /** Answers to requests this generator was not waiting for (a replay after a reconnect). */
  duplicates: number;
  echoReplies: number;
};

export type DriverSnapshot = {
  counts: DriverCounts;
  library: Histogram;
  fresh: Histogram;
  pending: Histogram;
  /** Echo target: every reply to a `next`. */
  echo: Histogram;
  /** Socket open to `welcome`, for first connects and reconnects. */
  connect: Histogram;
  outstanding: number;
  live: number;
  sessions: number;
};

type Outstanding = { kind: 'next' | 'beacon' | 'burst'; sentAt: number; bytes: Uint8Array };
type SessionState = 'connecting' | 'live' | 'ending' | 'closed';

const emptyCounts = (): DriverCounts => ({
  sessionsStarted: 0, welcomes: 0, resumed: 0, connectRefused: {}, unexpectedCloses: {}, nextsSent: 0, frames: { library: 0, fresh: 0 }, pendings: 0,
  chargedFrames: 0, creditsCharged: 0, fallbacks: {}, beaconsSent: 0, acks: 0, beaconRefusals: {}, burstsSent: 0, burstsCharged: 0, burstRefusals: {},
  errors: {}, duplicates: 0, echoReplies: 0,
});
const bump = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};

/** A small seeded generator (mulberry32): runs are repeatable. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `next` with a fixed-width id, encoded once; each request copies it and writes its id in place. */
const idWidth = 20;
const nextTemplate = encodeMessage({ t: 'next', id: '#'.repeat(idWidth) }, 'msgpack') as Uint8Array;
const idOffset = Buffer.from(nextTemplate).indexOf('#'.repeat(idWidth));
const backoffMs = 250;

class Session {
  state: SessionState = 'connecting';
  socket: WebSocket | null = null;
  sessionId: string | null = null;
  readonly outstanding = new Map<string, Outstanding>();
  /** The echo answers in order: requests waiting for it, oldest first. */
  readonly echoQueue: Array<{ req: string; kind: Outstanding['kind']; sentAt: number }> = [];
  timer: NodeJS.Timeout | null = null;
  seq = 0;
  track = 0;
  nextsThisTrack = 0;
  shown: { frame: string; at: number } | null = null;
  lastSentAt = 0;
  connectStartedAt = 0;
  endsAt = Infinity;
  bursted = false;
  constructor(
    readonly index: number,
    readonly spec: SessionSpec,
  ) {}
}

export class Driver {
  readonly #options: DriverOptions;
  readonly #random: () => number;
  readonly #sessions: Session[] = [];
  #counts = emptyCounts();
  #histograms = { library: newHistogram(), fresh: newHistogram(), pending: newHistogram(), echo: newHistogram(), connect: newHistogram() };
  #sending = true;
  #connectQueue: Session[] = [];
  #connectTimer: NodeJS.Timeout | null = null;

  constructor(options: DriverOptions) {
    this.#options = options;
    this.#random = seeded(options.seed);
  }

  /** Adds sessions; they connect at `connectPerSecond`. */
  add(specs: SessionSpec[]): void {
    for (const spec of specs) {
      const session = new Session(this.#sessions.length, spec);
      this.#sessions.push(session);
      this.#connectQueue.push(session);
    }
    this.#pumpConnects();
  }

  #pumpConnects(): void {
    if (this.#connectTimer !== null) return;
    const perTick = Math.max(1, Math.round(this.#options.connectPerSecond / 50));
    const tick = () => {
      for (let i = 0; i < perTick && this.#connectQueue.length > 0; i += 1) this.#open(this.#connectQueue.shift()!, false);
      this.#connectTimer = this.#connectQueue.length > 0 ? setTimeout(tick, 20) : null;
    };
    tick();
  }

  #urlOf(session: Session): string {
    const urls = this.#options.urls;
    return urls[session.index % urls.length]!;
  }

  #open(session: Session, resume: boolean): void {
    if (session.state === 'closed') return;
    session.state = 'connecting';
    session.connectStartedAt = performance.now();
    if (!resume) {
      this.#counts.sessionsStarted += 1;
      session.sessionId = null;
      session.bursted = false;
      const life = session.spec.lifetimeMs;
      session.endsAt = life === null ? Infinity : performance.now() + life[0] + this.#random() * (life[1] - life[0]);
    }
    const echo = this.#options.target === 'echo';
    const socket = new WebSocket(echo ? this.#urlOf(session) : `${this.#urlOf(session)}?token=${session.spec.token}`, {
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      maxPayload: 1024 * 1024,
    });
    session.socket = socket;
    socket.binaryType = 'nodebuffer';
    socket.on('open', () => {
      const { spec } = session;
      const hello: Record<string, unknown> = { t: 'hello', v: protocolVersion, orientation: spec.orientation, context: spec.contexts[session.track % spec.contexts.length], device: spec.device };
      if (session.sessionId !== null) hello['resume'] = session.sessionId;
      if (echo) session.echoQueue.push({ req: '', kind: 'next', sentAt: performance.now() });
      socket.send(encodeMessage(hello, 'msgpack'));
    });
    socket.on('unexpected-response', (_request, response) => {
      bump(this.#counts.connectRefused, String(response.statusCode));
      response.resume();
      socket.terminate();
    });
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => (echo ? this.#onEcho(session, data) : this.#onMessage(session, data)));
    socket.on('close', (code) => {
      if (session.socket !== socket) return;
      session.socket = null;
      this.#clearTimer(session);
      session.echoQueue.length = 0;
      if (session.state === 'closed') return;
      if (session.state === 'ending' && session.outstanding.size === 0) return this.#renew(session);
      bump(this.#counts.unexpectedCloses, String(code));
      setTimeout(() => this.#open(session, true), backoffMs + this.#random() * backoffMs).unref();
    });
  }

  #onWelcome(session: Session, sessionId: string | null, resumed: boolean): void {
    this.#counts.welcomes += 1;
    if (resumed) this.#counts.resumed += 1;
    recordMs(this.#histograms.connect, performance.now() - session.connectStartedAt);
    session.sessionId = sessionId;
    session.state = session.endsAt <= performance.now() ? 'ending' : 'live';
    // What was asked before a drop is asked again, with the same ids.
    for (const [req, request] of session.outstanding) {
      request.sentAt = performance.now();
      this.#write(session, request.bytes, req, request.kind);
    }
    if (session.state === 'ending') return this.#maybeEnd(session);
    if (session.spec.burst && !session.bursted && this.#options.target === 'titrate') {
      session.bursted = true;
      const req = this.#requestId(session);
      this.#counts.burstsSent += 1;
      this.#request(session, req, 'burst', encodeMessage({ t: 'burst', id: req }, 'msgpack') as Uint8Array);
    }
    this.#schedule(session, session.spec.mode === 'closed' ? 0 : this.#interval(session));
  }

  #interval(session: Session): number {
    const [low, high] = session.spec.intervalMs;
    return low + this.#random() * (high - low);
  }

  #schedule(session: Session, delayMs: number): void {
    if (session.spec.mode === 'idle' || !this.#sending || session.state !== 'live') return;
    this.#clearTimer(session);
    session.timer = setTimeout(() => {
      session.timer = null;
      this.#tick(session);
    }, Math.max(0, delayMs));
  }

  #clearTimer(session: Session): void {
    if (session.timer !== null) clearTimeout(session.timer);
    session.timer = null;
  }

  #tick(session: Session): void {
    if (!this.#sending || session.state !== 'live') return;
    if (performance.now() >= session.endsAt) {
      session.state = 'ending';
      return this.#maybeEnd(session);
    }
    this.#sendNext(session);
    if (session.spec.mode === 'paced') this.#schedule(session, this.#interval(session));
  }

  #sendNext(session: Session): void {
    const { spec } = session;
    const req = this.#requestId(session).padEnd(idWidth, '_');
    if (req.length > idWidth) throw new Error(`request id ${req} is longer than ${idWidth} characters`);
    let bytes: Uint8Array;
    if (spec.contextEvery > 0 && session.nextsThisTrack >= spec.contextEvery && spec.contexts.length > 1) {
      session.track += 1;
      session.nextsThisTrack = 0;
      bytes = encodeMessage({ t: 'next', id: req, context: spec.contexts[session.track % spec.contexts.length] }, 'msgpack') as Uint8Array;
    } else {
      bytes = Buffer.from(nextTemplate);
      (bytes as Buffer).write(req, idOffset, 'latin1');
    }
    session.nextsThisTrack += 1;
    session.lastSentAt = performance.now();
    this.#counts.nextsSent += 1;
    this.#request(session, req, 'next', bytes);
  }

  #requestId(session: Session): string {
    return `${this.#options.prefix}${session.index.toString(36)}.${(session.seq++).toString(36)}`;
  }

  #request(session: Session, req: string, kind: Outstanding['kind'], bytes: Uint8Array): void {
    const request: Outstanding = { kind, sentAt: performance.now(), bytes };
    session.outstanding.set(req, request);
    this.#write(session, bytes, req, kind);
  }

  #write(session: Session, bytes: Uint8Array, req: string, kind: Outstanding['kind']): void {
    const socket = session.socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) return;
    if (this.#options.target === 'echo') session.echoQueue.push({ req, kind, sentAt: performance.now() });
    socket.send(bytes);
  }

  #answered(session: Session, req: string): Outstanding | undefined {
    const request = session.outstanding.get(req);
    if (request === undefined) {
      this.#counts.duplicates += 1;
      return undefined;
    }
    session.outstanding.delete(req);
    return request;
  }

  #onMessage(session: Session, data: Buffer): void {
    let message: Record<string, unknown>;
    try {
      message = decodeServerMessage(data, 'msgpack') as Record<string, unknown>;
    } catch {
      bump(this.#counts.errors, 'undecodable_answer');
      return;
    }
    const now = performance.now();
    switch (message['t']) {
      case 'welcome':
        return this.#onWelcome(session, String(message['session']), message['resumed'] === true);
      case 'pending': {
        const request = session.outstanding.get(String(message['req']));
        if (request !== undefined) {
          this.#counts.pendings += 1;
          recordMs(this.#histograms.pending, now - request.sentAt);
        }
        return;
      }
      case 'frame': {
        const request = this.#answered(session, String(message['req']));
        if (request === undefined) return;
        const source = message['source'] === 'fresh' ? 'fresh' : 'library';
        this.#counts.frames[source] += 1;
        bump(this.#counts.fallbacks, String(message['fallback']));
        const charged = Number(message['charged'] ?? 0);
        if (charged > 0) {
          this.#counts.chargedFrames += 1;
          this.#counts.creditsCharged += charged;
        }
        recordMs(source === 'fresh' ? this.#histograms.fresh : this.#histograms.library, now - request.sentAt);
        this.#shown(session, String(message['id']), now);
        this.#afterAnswer(session);
        return;
      }
      case 'ack': {
        const req = String(message['req']);
        const request = this.#answered(session, req);
        if (request === undefined) return;
        if (request.kind === 'burst') {
          if (message['ok'] === true && Number(message['charged'] ?? 0) > 0) this.#counts.burstsCharged += 1;
          else if (message['ok'] !== true) bump(this.#counts.burstRefusals, String(message['code']));
        } else {
          this.#counts.acks += 1;
          if (message['ok'] !== true) bump(this.#counts.beaconRefusals, String(message['code']));
        }
        this.#afterAnswer(session);
        return;
      }
      case 'error': {
        bump(this.#counts.errors, String(message['code']));
        const req = message['req'];
        if (typeof req === 'string') {
          this.#answered(session, req);
          this.#afterAnswer(session);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The echo answers every message in order with its own bytes: the oldest request is answered. */
  #onEcho(session: Session, _data: Buffer): void {
    const head = session.echoQueue.shift();
    if (head === undefined) return;
    const now = performance.now();
    this.#counts.echoReplies += 1;
    if (head.req === '') return this.#onWelcome(session, null, false);
    const request = this.#answered(session, head.req);
    if (request === undefined) return;
    if (head.kind === 'next') {
      this.#counts.frames.library += 1;
      recordMs(this.#histograms.echo, now - request.sentAt);
      this.#shown(session, head.req, now);
    } else this.#counts.acks += 1;
    this.#afterAnswer(session);
  }

  /** A frame went on screen: the one before it gets its beacon. */
  #shown(session: Session, frame: string, now: number): void {
    const before = session.shown;
    session.shown = { frame, at: now };
    if (before === null || !session.spec.beacons || session.socket === null) return;
    const req = this.#requestId(session);
    const beacon: Record<string, unknown> = { t: 'beacon', id: req, frame: before.frame, dwellMs: Math.round(now - before.at) };
    if (this.#random() < session.spec.likeShare) beacon['liked'] = true;
    this.#counts.beaconsSent += 1;
    this.#request(session, req, 'beacon', encodeMessage(beacon, 'msgpack') as Uint8Array);
  }

  #afterAnswer(session: Session): void {
    if (session.state === 'ending') return this.#maybeEnd(session);
    if (session.spec.mode !== 'closed' || session.state !== 'live' || !this.#sending) return;
    let waiting = 0;
    for (const request of session.outstanding.values()) if (request.kind === 'next') waiting += 1;
    if (waiting > 0 || session.timer !== null) return;
    this.#schedule(session, session.lastSentAt + 1000 / session.spec.rateMax - performance.now());
  }

  /** An ending session closes once everything it asked is answered; a new one takes its place. */
  #maybeEnd(session: Session): void {
    if (session.outstanding.size > 0) return;
    session.socket?.close(1000, 'session over');
  }

  #renew(session: Session): void {
    if (session.state === 'closed') return;
    session.shown = null;
    session.track += 1;
    session.nextsThisTrack = 0;
    this.#open(session, false);
  }

  // --- control -------------------------------------------------------------------------------

  /** Forgets what was measured so far (a warm-up is over); outstanding requests stay outstanding. */
  resetStats(): void {
    this.#counts = emptyCounts();
    this.#histograms = { library: newHistogram(), fresh: newHistogram(), pending: newHistogram(), echo: newHistogram(), connect: newHistogram() };
  }

  /** Sessions that are live (have their `welcome`). */
  live(): number {
    let live = 0;
    for (const session of this.#sessions) if (session.state === 'live' || session.state === 'ending') live += 1;
    return live;
  }

  outstanding(): number {
    let count = 0;
    for (const session of this.#sessions) count += session.outstanding.size;
    return count;
  }

  /** Stops asking; answers still count. */
  stopSending(): void {
    this.#sending = false;
    for (const session of this.#sessions) this.#clearTimer(session);
  }

  resumeSending(): void {
    this.#sending = true;
    for (const session of this.#sessions) if (session.state === 'live') this.#schedule(session, this.#interval(session));
  }

  /** Drops every socket at once, as a network blip would; each reconnects and resumes at once. */
  dropAll(): void {
    for (const session of this.#sessions) {
      if (session.socket === null) continue;
      const socket = session.socket;
      session.socket = null;
      this.#clearTimer(session);
      session.echoQueue.length = 0;
      socket.terminate();
      if (session.state !== 'closed') this.#open(session, true);
    }
  }

  /** Closes every socket; nothing reconnects. */
  closeAll(): void {
    this.stopSending();
    this.#connectQueue = [];
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    for (const session of this.#sessions) {
      session.state = 'closed';
      this.#clearTimer(session);
      session.socket?.terminate();
      session.socket = null;
    }
  }

  snapshot(): DriverSnapshot {
    return { counts: this.#counts, ...this.#histograms, outstanding: this.outstanding(), live: this.live(), sessions: this.#sessions.length };
  }
}
