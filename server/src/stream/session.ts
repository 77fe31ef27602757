/**
 * One player's stream, independent of the transport: it receives validated client messages and
 * answers through an `Outbox`. The gateway owns sockets; this owns the protocol's meaning.
 *
 * States:
 *   awaiting_hello  the socket is open and authenticated; only `hello` is accepted.
 *   live            the session exists (new or resumed); every command is accepted.
 *   closed          the socket is gone; late results of in-flight work are dropped.
 *
 * A `next` whose decision is a fresh frame still being generated is answered `pending` at once and
 * waits (on this node) for its generation to end: a `frame` follows when the image is ready, or a
 * library frame with `fallback: "generation_failed"` when it fails or its deadline passes. The wait
 * ends either way; if the socket closes first, the ready image waits in the user's inbox instead.
 */
import { randomBytes } from 'node:crypto';
import {
  CloseCode,
  ErrorCode,
  NoticeCode,
  type Fallback,
  type FrameSource,
  protocolVersion,
  type ClientMessage,
  type Context,
  type Balance,
  type Beacon,
  type ErrorMessage,
  type FrameMessage,
  type Hello,
  type Next,
  type Orientation,
  type ServerMessage,
  type Stock,
} from '@titrate/shared';
import { beaconRefusal, rewardOf, segmentOf, shownRecordTtlMs, type BeaconRefusal, type RewardRules, type ShownRecord } from '../bandit/reward.js';
import type { BanditStatistics, RewardEntry } from '../bandit/statistics.js';
import type { Logger } from 'pino';
import type { CreditSummary, CreditView } from '../credits/view.js';
import type { Decision, FrameDecider } from '../decision/decider.js';
import type { BanditRecord, JournalEntry } from '../decision/journal.js';
import type { FreshFrames } from '../generation/fresh.js';
import { Ledger, accountIdOf } from '../ledger/ledger.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';
import { nothingSeen, type SeenFrames } from '../pantry/seen.js';
import { freezeRecord, seenScope, type SessionRecord, type SessionStateEngine } from '../state/engine.js';
import { factorRecord, type Titration } from '../titration/controller.js';
import type { ContextPool, TextPool } from '../texts.js';
import { localDayOf } from '../titration/clock.js';
import type { Demand } from '../titration/forecast.js';
import type { PolicyName } from '../titration/policies.js';
import type { UserAccount, UserDirectory } from '../users/directory.js';
import type { DayDemand } from './liveAccounts.js';
import { readDemand, SessionPace } from './pace.js';

export const sessionStates = ['awaiting_hello', 'live', 'closed'] as const;
export type SessionState = (typeof sessionStates)[number];

const transitions: Record<SessionState, readonly SessionState[]> = {
  awaiting_hello: ['live', 'closed'],
  live: ['closed'],
  closed: [],
};

export interface Outbox {
  send(message: ServerMessage): void;
  close(code: number, reason: string): void;
}

export type StreamServices = {
  engine: SessionStateEngine;
  users: UserDirectory;
  credits: CreditView;
  decider: FrameDecider;
  /** Fresh frames (null when this server generates none). */
  fresh: FreshFrames | null;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  newId: () => string;
  ledger: Ledger;
  /**
   * The account object a session keeps: an equal one held for its credit account here (the read
   * of one of its users, the newest), or its own.
   */
  sharedAccount: (accountId: string, account: UserAccount) => UserAccount;
  /**
   * A session is live on its credit account: it hears of the account's credit changes until
   * `leaveAccount`, and the account's demand it read is held for the account's sessions here.
   */
  joinAccount: (accountId: string, session: BalanceWatcher, account: UserAccount, read: DayDemand) => void;
  leaveAccount: (accountId: string, session: BalanceWatcher) => void;
  /** The demand of a credit account on a local day, held for its live sessions here: at once when held, else the read in flight or `read()`. */
  demandOn: (accountId: string, dayKey: string, read: () => Promise<Demand>) => Demand | Promise<Demand>;
  /** The demand of a credit account as last held here, whatever its day (forecasts use it). */
  lastDemand: (accountId: string) => Demand | undefined;
  /** Tells every session of an account (on every node) that its credits changed. */
  announceCreditChange: (accountId: string) => void;
  /** Registers interest in the end of a generation (on any node); returns the way to stop. */
  watchGeneration: (generationId: string, onEnd: () => void) => () => void;
  /** Builds the URL a player fetches a frame from. */
  frameUrl: (frameId: string) => string;
  /** The titration policy of a tier. */
  policyFor: (tier: string) => PolicyName;
  random: () => number;
  /** Short names (genres, moods, devices) shared by every session that holds them. */
  texts: TextPool;
  /** Music contexts shared by every session that holds them. */
  contexts: ContextPool;
  /** Where every answered decision is recorded (batched, off the hot path). */
  journal: { record(entry: JournalEntry): void };
  /** Renders an adapted frame variant ahead of the player's fetch. */
  warmVariant: (frameId: string) => void;
  /** The bandit's statistics and rollout (null: no bandit on this server). */
  bandit: BanditStatistics | null;
  /** Where counted beacons are recorded, joined to their decisions (batched, off the hot path). */
  rewards: { record(entry: RewardEntry): void };
  /** What a beacon's reward is, and how long after its decision a beacon still counts. */
  rewardRules: RewardRules;
};

/**
 * A new session id: 96 random bits in 16 URL-safe characters, where a UUID's text spends 36 on 122
 * (a session keeps its id for as long as it lives, and every journal row names it). An id is not a
 * credential — a resume must come from the session's own user — so it only has to be unique: a
 * billion sessions collide with a chance of about 10⁻¹¹. Sixteen characters are the most a string
 * holds in 32 bytes of V8's heap; 22 took 40.
 */
export const newSessionId = (): string => randomBytes(12).toString('base64url');

/** How long one burst purchase keeps the show always fresh. */
export const burstMinutes = 15;

/**
 * What is stored per (session, next.id): the request's fingerprint and either the decision or,
 * while a fresh frame is generated, the generation it waits for (replaced by the final decision).
 */
type StoredDecision = { fingerprint: string; decision?: Decision; pending?: PendingAnswer };
type PendingAnswer = {
  generationId: string;
  deadlineAtMs: number;
  p: number;
  fallback?: Fallback;
  /** What the decision's evidence needs when another socket (a reconnect) delivers it. */
  evidence?: Omit<Verdict, 'factors' | 'reasons'>;
};
/**
 * What the controller and the bandit said about a decision, kept until it is answered and
 * journaled: the segment, the source the policy chose (null when no policy chose: an inbox frame,
 * a replay on another socket) and whether p was the policy's to set.
 */
type Verdict = {
  policy: string;
  factors: Record<string, number>;
  reasons: string[];
  segment: string | null;
  intended: FrameSource | null;
  eligible: boolean;
  bandit: BanditRecord | null;
};
type Wait = PendingAnswer & {
  req: string;
  verdict: Verdict;
  fingerprint: string;
  timer: NodeJS.Timeout;
  unwatch: () => void;
  settling: boolean;
  recheck: boolean;
  attempts: number;
};
/** A settle that failed on a database or engine error is retried this soon, this many times. */
const settleRetryMs = 1_000;
const settleAttemptsMax = 5;

const turns = ['idle', 'handling', 'owed'] as const;
type Turn = (typeof turns)[number];
/** `StreamSession`'s packed phase: the state's index in its low two bits, the turn's above them. */
const stateBits = 0b11;
const turnShift = 2;

/**
 * What a session keeps once it plays, made the first time it needs any of it (a frame, a wait, a
 * like, stock, a balance told); an idle session keeps none of it.
 */
type Play = {
  /** Its side of titration, made at its first frame. */
  pace: SessionPace | null;
  /**
   * `next` requests waiting for their generation, by generation id (at most
   * `pendingFreshPerSessionMax`); made on the first wait, since most sessions never wait.
   */
  waits: Map<string, Wait> | null;
  justLiked: boolean;
  /** Stock frames handed to this connection (bounded: each is a record in the engine for a day). */
  stocked: number;
  /**
   * The balance this player was last told with a frame, an ack or a push: a credit change that
   * leaves it as told (this session's own charge, which its frame carried) is not pushed again.
   */
  toldBalance: Balance | null;
};

/** What hears of its account's credit changes. */
export type BalanceWatcher = { creditsChanged(): void };

/**
 * How a node opens its players' sessions: each reaches the node's `services` through its class
 * rather than a field of its own (a node holds a session per connection, and every one's services
 * are the same object).
 */
export function sessionsOf(services: StreamServices): (account: UserAccount, outbox: Outbox) => StreamSession {
  class NodeSession extends StreamSession {
    protected get services(): StreamServices {
      return services;
    }
  }
  return (account, outbox) => new NodeSession(account, outbox);
}

export abstract class StreamSession implements BalanceWatcher {
  /** The state's and the turn's indexes, packed into one small integer (see `#state` and `#turn`). */
  #phase = 0;
  #record: SessionRecord | null = null;
  /** Its user's account (shared with the user's other sessions on this node while they agree). */
  #account: UserAccount;
  /** What it keeps once it plays (an idle session has nothing of it). */
  #play: Play | null = null;
  readonly #outbox: Outbox;

  /** `account` is the one read when the connection was accepted, a moment before its `hello`. */
  constructor(account: UserAccount, outbox: Outbox) {
    this.#account = account;
    this.#outbox = outbox;
  }

  get #state(): SessionState {
    return sessionStates[this.#phase & stateBits]!;
  }

  set #state(state: SessionState) {
    this.#phase = (this.#phase & ~stateBits) | sessionStates.indexOf(state);
  }

  /**
   * Messages are handled one at a time: `handling` while one is, `owed` when a balance push came
   * meanwhile (it waits for the answer, which may tell the news), `idle` otherwise.
   */
  get #turn(): Turn {
    return turns[this.#phase >> turnShift]!;
  }

  set #turn(turn: Turn) {
    this.#phase = (this.#phase & stateBits) | (turns.indexOf(turn) << turnShift);
  }

  #playing(): Play {
    return (this.#play ??= { pace: null, waits: null, justLiked: false, stocked: 0, toldBalance: null });
  }

  /** The node's services (see `sessionsOf`). */
  protected abstract get services(): StreamServices;

  get #userId(): string {
    return this.#account.id;
  }

  get state(): SessionState {
    return this.#state;
  }

  get sessionId(): string | null {
    return this.#record?.id ?? null;
  }

  /** The user the connection was authenticated as (known before `hello`, unlike the session id). */
  get userId(): string {
    return this.#userId;
  }

  #setState(next: SessionState): void {
    if (!transitions[this.#state].includes(next)) throw new Error(`illegal session transition ${this.#state} → ${next}`);
    this.#state = next;
  }

  /** The socket closed; nothing more is sent. */
  closed(): void {
    if (this.#state === 'live') this.services.leaveAccount(this.#accountId(), this);
    if (this.#state !== 'closed') this.#setState('closed');
    for (const wait of this.#play?.waits?.values() ?? []) this.#endWait(wait);
  }

  #accountId(): string {
    return accountIdOf(this.#account);
  }

  /** The account's credits changed (here or on another node). */
  creditsChanged(): void {
    this.pushBalance().catch((error: unknown) => this.services.log.warn({ err: error }, 'balance push failed'));
  }

  /** Sends the current balance when the account's credits changed from what this player was told. */
  async pushBalance(): Promise<void> {
    if (this.#state !== 'live') return;
    if (this.#turn !== 'idle') {
      this.#turn = 'owed';
      return;
    }
    const summary = await this.#summary();
    const told = this.#play?.toldBalance ?? null;
    if (told !== null && sameBalance(told, summary.balance)) return;
    this.#send({ t: 'balance', balance: summary.balance, forecast: summary.forecast });
  }

  /** The account's balance and forecast now, at the account's demand (`demand`, else the one held for it). */
  #summary(demand?: Demand): Promise<CreditSummary> {
    return this.services.credits.summaryOf(this.#account, this.services.now(), demand ?? this.services.lastDemand(this.#accountId()));
  }

  /** The account's demand on its local day `dayKey` (held for all its live sessions here). */
  #demandOn(dayKey: string): Demand | Promise<Demand> {
    const accountId = this.#accountId();
    return this.services.demandOn(accountId, dayKey, () => readDemand(this.services.engine, accountId, dayKey));
  }

  #paceOf(): SessionPace {
    const play = this.#playing();
    return (play.pace ??= new SessionPace(this.services.engine, this.#accountId(), this.#account.tz, this.services.random(), (dayKey) => this.#demandOn(dayKey)));
  }

  error(code: ErrorCode, message: string, req?: string): void {
    const error: ErrorMessage = req === undefined ? { t: 'error', code, message } : { t: 'error', code, message, req };
    this.#send(error);
  }

  #send(message: ServerMessage): void {
    if (this.#state === 'closed') return;
    // A burst's ack sets it too; the welcome's does not, so an idle session keeps nothing for it.
    if (message.t === 'frame' || message.t === 'balance') this.#playing().toldBalance = message.balance;
    this.#outbox.send(message);
  }

  /** Handles one message; the gateway hands a session its messages one at a time, in order. */
  async handle(message: ClientMessage): Promise<void> {
    if (this.#state === 'closed') return;
    if (message.t !== 'hello' && this.#state !== 'live') {
      const req = 'id' in message ? message.id : undefined;
      return this.error(ErrorCode.outOfOrder, `${message.t} before hello: send hello first`, req);
    }
    // A hello is a turn too: a credit change heard once the session is live waits for the welcome.
    this.#turn = 'handling';
    try {
      await (message.t === 'hello' ? this.#hello(message) : this.#dispatch(message));
    } finally {
      if (this.#endTurn() === 'owed') this.creditsChanged();
    }
  }

  /** The message's turn is over; says whether a balance push came meanwhile. */
  #endTurn(): Turn {
    const turn = this.#turn;
    this.#turn = 'idle';
    return turn;
  }

  async #dispatch(message: Exclude<ClientMessage, Hello>): Promise<void> {
    switch (message.t) {
      case 'next':
        return this.#next(message);
      case 'context':
        return this.#updateRecord({ context: message.context });
      case 'beacon':
        return this.#beacon(message);
      case 'conserve':
        await this.#updateRecord({ conserve: message.on });
        return this.#send({
          t: 'notice',
          code: message.on ? NoticeCode.conserveOn : NoticeCode.conserveOff,
          text: message.on ? 'Fresh reduced ~50% – saving for later' : 'Conserve mode off',
        });
      case 'burst':
        return this.#burst(message.id);
      case 'stock':
        return this.#stock(message);
    }
  }

  async #hello(hello: Hello): Promise<void> {
    if (this.#state !== 'awaiting_hello') return this.error(ErrorCode.outOfOrder, 'hello was already received on this socket');
    if (hello.v !== protocolVersion) {
      return this.error(ErrorCode.unsupportedVersion, `protocol version ${hello.v} is not supported; this server speaks ${protocolVersion}`);
    }
    try {
      await this.#start(hello);
    } catch (error) {
      // The socket closes rather than answer `internal`: once live, a session without its welcome
      // would refuse a second hello, and a player waiting for its welcome would learn nothing; a
      // reconnect starts (or resumes) the session afresh.
      this.#outbox.close(CloseCode.startFailed, 'the session could not start; reconnect');
      this.services.log.warn({ err: error, session: this.sessionId, user: this.#userId }, 'a session could not start; closed for a reconnect');
    }
  }

  /** Starts (or resumes) the session of a valid `hello` and welcomes it; throws when a read fails. */
  async #start(hello: Hello): Promise<void> {
    const started = performance.now();
    const { engine, now, newId, texts } = this.services;
    const account = (this.#account = this.services.sharedAccount(this.#accountId(), this.#account));
    let resumed = false;
    let record: SessionRecord | null = null;
    if (hello.resume !== undefined) {
      const earlier = await engine.getSession(hello.resume);
      if (earlier !== null && earlier.userId === this.#userId) {
        record = { ...earlier, orientation: texts.of(hello.orientation) as Orientation, context: this.#pooled(hello.context), device: texts.of(hello.device ?? earlier.device) };
        resumed = true;
      }
    }
    record ??= {
      id: newId(),
      userId: this.#userId,
      orientation: texts.of(hello.orientation) as Orientation,
      context: this.#pooled(hello.context),
      conserve: false,
      device: texts.of(hello.device ?? null),
    };
    // Frozen, the in-process engine keeps this very record instead of a copy of it.
    freezeRecord(record);
    await engine.putSession(record, limits.sessionTtlMs);
    if (resumed) await engine.touchSession(record.id, limits.sessionTtlMs);
    // The account's demand read (or taken from the account's other sessions here) before the
    // session is live.
    const accountId = this.#accountId();
    const { dayKey } = localDayOf(now(), account.tz);
    const demand = await this.#demandOn(dayKey);
    if (this.#state !== 'awaiting_hello') return;
    this.#record = record;
    this.#setState('live');
    this.services.joinAccount(accountId, this, account, { dayKey, demand });
    // Read once live, so that a credit change from now on is pushed after the welcome.
    const [mix, summary] = await Promise.all([engine.getMix(record.id), this.#summary(demand)]);
    // A socket that closed meanwhile gets no welcome, and its session has not started. (Read
    // through a widened type: the compiler keeps the state it narrowed before the awaits.)
    if ((this.#state as SessionState) !== 'live') return;
    this.#send({
      t: 'welcome',
      v: protocolVersion,
      session: record.id,
      resumed,
      tier: account.tier,
      unlimited: account.unlimited,
      balance: summary.balance,
      forecast: summary.forecast,
      mix,
      conserve: record.conserve,
      burstUntil: summary.burstUntil,
      burstPrice: account.burstPrice,
      orientation: record.orientation,
      context: record.context,
    });
    this.services.metrics.sessionStart.observe({ stage: 'hello' }, (performance.now() - started) / 1000);
    if (hello.resume !== undefined && !resumed) {
      this.#send({ t: 'notice', code: NoticeCode.resumeUnavailable, text: 'The earlier session could not be resumed; a new one started.' });
    }
    if (!resumed) await this.#countStarted(accountId, dayKey);
  }

  /**
   * Counts a new session into its user's day once its welcome is out: a resume is the same
   * session, and a start that failed before its welcome was not a session the player saw (its
   * reconnect is). The count only tells a high-velocity day (`sessionsPerDayMin`), so one that
   * fails is logged and the session goes on; it is awaited so that the session's first decision
   * reads the day with it.
   */
  async #countStarted(accountId: string, dayKey: string): Promise<void> {
    try {
      await this.services.engine.countDay(accountId, dayKey, { sessions: 1 }, limits.userDayTtlMs);
    } catch (error) {
      this.services.log.warn({ err: error, session: this.sessionId, user: this.#userId }, "a started session was not counted into its user's day");
    }
  }

  /**
   * Buys "always fresh for 15 minutes" at the tier's burst price: one debit per burst id, and
   * buying again while a burst runs extends it. A short balance is refused and charges nothing.
   */
  async #burst(id: string): Promise<void> {
    const { ledger, users } = this.services;
    // The price is read now, not at hello: an operator may have changed it since. The session
    // keeps the new read unless it moved the user to another credit account (the session stays on
    // the one it joined until it closes; the admin API does not move users between accounts).
    // The debit goes where the user's account is now, and that account hears of it.
    const account = (await users.getAccount(this.#userId)) ?? this.#account;
    if (accountIdOf(account) === this.#accountId()) this.#account = account;
    const result = await ledger.debit(
      { userId: account.id, kind: 'burst', requestId: id, amount: account.burstPrice, parameters: { minutes: burstMinutes }, details: { minutes: burstMinutes } },
      async (client) => ({ until: await Ledger.extendBurst(client, account.id, burstMinutes) }),
    );
    this.services.metrics.debits.inc({ kind: 'burst', result: result.status === 'debited' && result.replayed ? 'replayed' : result.status });
    if (result.status === 'insufficient') {
      return this.#send({ t: 'ack', req: id, ok: false, code: ErrorCode.insufficientCredits, charged: 0, price: account.burstPrice, available: result.available });
    }
    if (result.status === 'mismatch') return this.#send({ t: 'ack', req: id, ok: false, code: ErrorCode.idempotencyMismatch, charged: 0 });
    if (result.status === 'unknown_user') return this.#outbox.close(1008, 'unknown user');
    // Announced before the balance is read: the announcement is what makes a cached view stale.
    if (!result.replayed && result.charged > 0) this.services.announceCreditChange(accountIdOf(account));
    const summary = await this.#summary();
    this.#playing().toldBalance = summary.balance;
    this.#send({ t: 'ack', req: id, ok: true, until: result.outcome['until'], charged: result.charged, replayed: result.replayed, balance: summary.balance });
  }

  /** The context as the session keeps it: its labels shared with every other session of the same music. */
  #pooled(context: Context): Readonly<Context> {
    return this.services.contexts.of(context);
  }

  async #updateRecord(change: Partial<Pick<SessionRecord, 'context' | 'conserve'>>): Promise<void> {
    const record = freezeRecord({ ...this.#record!, ...change, ...(change.context === undefined ? {} : { context: this.#pooled(change.context) }) });
    this.#record = record;
    await this.services.engine.putSession(record, limits.sessionTtlMs);
  }

  async #next(next: Next): Promise<void> {
    const { engine, decider, fresh, now } = this.services;
    const started = performance.now();
    const recordStored = next.context === undefined ? undefined : this.#updateRecord({ context: next.context });
    const record = this.#record!;
    const fingerprint = fingerprintOf(next.context);
    const nowMs = now();
    // Everything a decision reads, asked at once (a shared engine gets it in one round trip); a
    // replay or an inbox frame leaves the rest unused.
    const [, earlier, seen, mix, summary, day] = await Promise.all([
      recordStored, engine.getDecision(record.id, next.id), this.#seen(record.context), engine.getMix(record.id), this.#summary(), this.#paceOf().today(nowMs),
    ]);
    if (earlier !== null) return this.#replay(next, fingerprint, earlier as StoredDecision);

    const inbox = fresh === null ? null : await fresh.takeFromInbox(this.#userId, record.orientation, record.id, next.id);
    if (inbox !== null) {
      const decision = decider.fromGeneration(inbox, ['a fresh frame made for you earlier']);
      return this.#answer(next.id, { fingerprint, decision }, started, undefined, this.#verdictOf('inbox', null, decision.reasons, null, null));
    }
    const account = this.#account;
    const pace = this.#paceOf().input(nowMs, summary.credits, day, this.services.policyFor(account.tier), record.conserve, mix.fresh);
    const segment = this.services.texts.of(segmentOf(account.tier, decider.groupOf(record.context)));
    const lean = this.services.bandit?.lean(this.#userId, account.tier, segment, this.services.random) ?? null;
    const outcome = await decider.decide({
      sessionId: record.id, requestId: next.id, account, context: record.context, orientation: record.orientation, seen,
      burstUntil: summary.burstUntil, nowMs, framesShown: mix.fresh + mix.library, justLiked: this.#play?.justLiked === true, pendingFresh: this.#play?.waits?.size ?? 0, pace,
      nudge: lean?.mode === 'on' ? lean.nudge.multiplier : 1,
    });
    this.#playing().justLiked = false;
    if (outcome === null) return this.error(ErrorCode.noFrame, 'no frame is available for this context and orientation', next.id);
    this.#paceOf().remember(outcome.titration.state);
    const applied = outcome.titration.nudge;
    const bandit: BanditRecord | null =
      lean === null ? null : {
        mode: lean.mode, algorithm: this.services.bandit!.settings.algorithm,
        // What p carries: this frame's draw, or nothing when a mode or constraint set p.
        arm: lean.mode === 'shadow' ? lean.nudge.arm : applied > 1 ? 'fresh' : applied < 1 ? 'library' : null,
        multiplier: lean.mode === 'shadow' ? lean.nudge.multiplier : applied, drawn: lean.nudge.multiplier, explored: lean.nudge.explored,
      };
    const verdict = this.#verdictOf(pace.policy, outcome.titration, outcome.kind === 'frame' ? outcome.decision.reasons : [], segment, bandit);
    if (outcome.kind === 'frame') {
      const unchanged = outcome.decision.charged === 0 ? summary : undefined;
      return this.#answer(next.id, { fingerprint, decision: outcome.decision }, started, unchanged, verdict);
    }
    const pending: StoredDecision = {
      fingerprint,
      pending: {
        generationId: outcome.generationId, deadlineAtMs: outcome.deadlineAtMs, p: outcome.p, fallback: outcome.fallback,
        evidence: { policy: verdict.policy, segment: verdict.segment, intended: verdict.intended, eligible: verdict.eligible, bandit: verdict.bandit },
      },
    };
    const stored = await engine.putDecisionIfAbsent(record.id, next.id, pending, limits.decisionTtlMs);
    if (stored !== pending) return this.#replay(next, fingerprint, stored as StoredDecision);
    this.#send({ t: 'pending', req: next.id, etaMs: Math.max(0, outcome.etaMs) });
    this.#wait(next.id, fingerprint, pending.pending!, verdict);
  }

  /**
   * Where a delivered frame counts as seen: a library frame in its group; a fresh one in the group
   * the context maps to, which is where the next order reads (its own labels may be an alias).
   */
  #seenGroupOf(decision: Decision): { genre: string; mood: string } {
    return decision.source === 'library' ? decision : (this.services.decider.groupOf(this.#record!.context) ?? decision);
  }

  /** What this user saw, on any device, in the library group the context maps to. */
  async #seen(context: Context): Promise<SeenFrames> {
    const group = this.services.decider.groupOf(context);
    return group === null ? nothingSeen : this.services.engine.seenFrames(seenScope(this.#userId, group));
  }

  /**
   * p was the policy's to set when the controller titrated without a constraint; the literal
   * baseline's held frames repeat the last decision (probability 0 or 1, not p), so only its
   * frames where the level moved count.
   */
  #verdictOf(policy: string, titration: Titration | null, reasons: string[], segment: string | null, bandit: BanditRecord | null): Verdict {
    const eligible =
      titration !== null && titration.mode === 'titrated' && titration.constraint === null && (titration.policy !== 'seeds-literal' || titration.moved);
    const factors = titration === null ? {} : factorRecord(titration);
    return { policy, factors, reasons, segment, intended: titration === null ? null : titration.fresh ? 'fresh' : 'library', eligible, bandit };
  }

  /** Stores a final decision for `req` (first writer wins) and sends it. */
  async #answer(req: string, ours: StoredDecision & { decision: Decision }, started: number, summary: CreditSummary | undefined, verdict: Verdict): Promise<void> {
    const record = this.#record!;
    const stored = await this.services.engine.putDecisionIfAbsent(record.id, req, ours, limits.decisionTtlMs);
    if (stored !== ours) return this.#replay({ t: 'next', id: req }, ours.fingerprint, stored as StoredDecision);
    await this.#deliver(req, ours.decision, started, summary, verdict);
  }

  /**
   * Counts a decided frame into the session and sends it with the balance after it. A decision that
   * charged nothing may pass the balance read before it, saving a second read on the library path.
   */
  async #deliver(req: string, decision: Decision, started: number, known: CreditSummary | undefined, verdict: Verdict): Promise<void> {
    const { engine, metrics, now } = this.services;
    const record = this.#record!;
    // What its beacon needs: whose frame it is, when it was decided (the journal's key), its segment and arm.
    const decidedAt = now();
    const shown: ShownRecord = {
      user: this.#userId, at: decidedAt, segment: verdict.segment, source: decision.source, eligible: this.#eligible(decision, verdict),
    };
    // Best effort: the frame is decided and counted; without the record its beacon is only unknown.
    const rememberShown = engine.putRecord(shownKey(decision.id), shown, shownRecordTtlMs(this.services.rewardRules)).catch((error: unknown) => {
      metrics.beaconResults.inc({ result: 'not_remembered' });
      this.services.log.warn({ err: error, decision: decision.id }, "a shown frame's record was not stored; its beacon will not count");
    });
    // Every write of a delivery at once (a shared engine gets them in one round trip).
    const [mix, summary] = await Promise.all([
      engine.addToMix(record.id, decision.source, limits.sessionTtlMs),
      known ?? this.#summary(),
      engine.markSeen(seenScope(this.#userId, this.#seenGroupOf(decision)), decision.seenId ?? decision.frameId, limits.seenFramesPerGroupMax, limits.seenTtlMs),
      this.#paceOf().delivered(decidedAt, decision.source, decision.charged),
      rememberShown,
    ]);
    if (decision.frameId !== decision.seenId) this.services.warmVariant(decision.frameId);
    metrics.decisionLatency.observe({ source: decision.source }, (performance.now() - started) / 1000);
    metrics.decisions.inc({ source: decision.source, fallback: decision.fallback });
    this.#send(this.#frameMessage(req, decision, summary, mix));
    this.#journal(decidedAt, req, decision, summary, verdict);
  }

  /**
   * Whether the shown arm was the policy's free choice with probability p: titrated, no constraint,
   * and shown as chosen (a fresh frame that failed or was congested into library was not).
   */
  #eligible(decision: Decision, verdict: Verdict): boolean {
    return verdict.eligible && verdict.intended === decision.source && decision.fallback !== 'congested' && decision.fallback !== 'generation_failed';
  }

  #journal(decidedAt: number, req: string, decision: Decision, summary: CreditSummary, verdict: Verdict): void {
    const record = this.#record!;
    this.services.journal.record({
      ts: decidedAt, id: decision.id, userId: this.#userId, sessionId: record.id, requestId: req, policy: verdict.policy,
      tier: this.#account.tier, p: decision.p, source: decision.source, fallback: decision.fallback, charged: decision.charged,
      context: record.context, orientation: decision.orientation, factors: verdict.factors, reasons: decision.reasons, forecast: summary.forecast,
      segment: verdict.segment, eligible: this.#eligible(decision, verdict), bandit: verdict.bandit,
    });
  }

  async #replay(next: Next, fingerprint: string, stored: StoredDecision): Promise<void> {
    if (stored.fingerprint !== fingerprint) {
      return this.error(ErrorCode.idempotencyMismatch, `next id "${next.id}" was already used with a different context`, next.id);
    }
    const { engine, metrics, now } = this.services;
    metrics.decisionReplays.inc();
    if (stored.pending !== undefined) {
      // Still generating: say so again; the frame follows (this socket may be a reconnect).
      this.#send({ t: 'pending', req: next.id, etaMs: Math.max(0, Math.round(stored.pending.deadlineAtMs - now())) });
      // The controller's factors stayed with the socket that decided; the journal gets the outcome.
      const evidence = stored.pending.evidence;
      const verdict = evidence === undefined ? this.#verdictOf(this.services.policyFor(this.#account.tier), null, [], null, null) : { ...evidence, factors: {}, reasons: [] };
      return this.#wait(next.id, fingerprint, stored.pending, verdict);
    }
    const [mix, summary] = await Promise.all([engine.getMix(this.#record!.id), this.#summary()]);
    this.#send(this.#frameMessage(next.id, stored.decision!, summary, mix));
  }

  /** Waits for a generation's end (a bus event) or its deadline, whichever comes first. */
  #wait(req: string, fingerprint: string, pending: PendingAnswer, verdict: Verdict): void {
    if (this.#state !== 'live' || this.#play?.waits?.has(pending.generationId) === true) return;
    const wait: Wait = {
      ...pending, req, fingerprint, verdict, settling: false, recheck: false, attempts: 0,
      unwatch: this.services.watchGeneration(pending.generationId, () => this.#settleLater(pending.generationId, false)),
      timer: setTimeout(() => this.#settleLater(pending.generationId, true), Math.max(0, pending.deadlineAtMs - this.services.now())),
    };
    (this.#playing().waits ??= new Map()).set(pending.generationId, wait);
    // The generation may have ended before the watch began.
    this.#settleLater(pending.generationId, false);
  }

  #endWait(wait: Wait): void {
    clearTimeout(wait.timer);
    wait.unwatch();
    this.#play?.waits?.delete(wait.generationId);
  }

  /**
   * Answers a waiting `next` with its fresh frame, or with a library frame if generation failed.
   * The wait stays registered until the final decision is stored, so a repeated `next` meanwhile
   * is told `pending` rather than answered twice. A failure to read or store is retried (the
   * generation row remembers who was answered, so a retry finds the same frame).
   */
  async #settle(generationId: string, force: boolean): Promise<void> {
    const wait = this.#play?.waits?.get(generationId);
    if (wait === undefined || this.#state !== 'live') return;
    if (wait.settling) {
      // An event arrived while an earlier check was reading: look again when it is done.
      wait.recheck = true;
      return;
    }
    wait.settling = true;
    wait.recheck = false;
    let ended = false;
    try {
      const started = performance.now();
      const settlement = await this.services.fresh!.settle(generationId, this.#record!.id, wait.req, force);
      if (settlement.kind === 'waiting') return;
      const decision =
        settlement.kind === 'ready' ? this.services.decider.fromGeneration(settlement.generation, [], wait.fallback) : await this.#standIn(wait, settlement.reason, settlement.refunded);
      if (decision === null) {
        this.#endWait(wait);
        ended = true;
        return this.error(ErrorCode.noFrame, 'the fresh frame failed and no library frame is available', wait.req);
      }
      const final: StoredDecision = { fingerprint: wait.fingerprint, decision };
      await this.services.engine.replaceDecision(this.#record!.id, wait.req, final, limits.decisionTtlMs);
      this.#endWait(wait);
      ended = true;
      await this.#deliver(wait.req, decision, started, undefined, wait.verdict);
    } catch (error) {
      if (ended) {
        // Decided and stored, but not sent: a repeated `next` replays it.
        this.error(ErrorCode.internal, 'the frame is decided but could not be sent; repeat the next', wait.req);
        throw error;
      }
      wait.attempts += 1;
      if (wait.attempts >= settleAttemptsMax) {
        this.#endWait(wait);
        this.error(ErrorCode.internal, 'the frame could not be settled; repeat the next', wait.req);
        throw error;
      }
      clearTimeout(wait.timer);
      wait.timer = setTimeout(() => this.#settleLater(generationId, this.services.now() >= wait.deadlineAtMs), settleRetryMs);
      this.services.log.warn({ err: error, generation: generationId }, 'settling a pending frame failed; retrying');
    } finally {
      wait.settling = false;
      if (wait.recheck && this.#play?.waits?.has(generationId) === true) {
        wait.recheck = false;
        this.#settleLater(generationId, this.services.now() >= wait.deadlineAtMs);
      }
    }
  }

  #settleLater(generationId: string, force: boolean): void {
    this.#settle(generationId, force).catch((error: unknown) => {
      this.services.log.error({ err: error, generation: generationId }, 'a pending frame could not be settled');
    });
  }

  /** The library frame shown instead of a fresh one that could not be had. */
  async #standIn(wait: Wait, reason: string, refunded: boolean): Promise<Decision | null> {
    const record = this.#record!;
    const seen = await this.#seen(record.context);
    const why = refunded ? `the fresh frame could not be made (${reason}); credits refunded` : `the fresh frame is not available (${reason})`;
    return this.services.decider.fallback({ context: record.context, orientation: record.orientation, seen }, 'generation_failed', wait.p, [why]);
  }

  /**
   * A shown frame's report. Dwell and likes still steer the show (a like makes the next fresh frame
   * premium; a long look keeps a congested frame's charge). The first beacon of the frame's own
   * user within its window is counted: a reward (watched ≥ the dwell threshold, or liked) joined
   * to its decision and a pull of its arm for the bandit (whatever set p: an unlimited user's
   * fresh frame says as much about fresh in its segment as a titrated one; only evaluation needs
   * propensities); for a stock frame shown offline, the frame is counted into the show now. Late, duplicate, foreign and unknown beacons are refused with a code and
   * never counted. With a beacon `id` the answer is an `ack`; without one a refusal is an `error`.
   */
  async #beacon(beacon: Beacon): Promise<void> {
    const { metrics, engine, now, rewardRules } = this.services;
    const shown = (await engine.getRecord(shownKey(beacon.frame))) as ShownRecord | null;
    const nowMs = now();
    // The claim lasts as long as the record it guards, so a replay is a duplicate, never counted anew.
    const refusal = beaconRefusal(shown, this.#userId, nowMs, rewardRules, limits.stockTtlMs) ?? ((await engine.claimRecord(shownKey(beacon.frame))) ? null : ErrorCode.duplicateBeacon);
    // A beacon steers the show once: a duplicate, late or foreign one does not. One for a frame the
    // engine forgot (a restart of the memory engine) still may: the generation's own record checks it.
    if (refusal === null || refusal === ErrorCode.unknownFrame) await this.#steer(beacon, shown);
    if (refusal !== null) {
      metrics.beaconResults.inc({ result: refusal });
      const message = beaconRefusalText[refusal];
      return beacon.id === undefined ? this.error(refusal, message) : this.#send({ t: 'ack', req: beacon.id, ok: false, code: refusal, message });
    }
    const record = shown!;
    const reward = rewardOf(beacon, rewardRules);
    const offline = record.stock !== undefined;
    const counted = !offline && record.segment !== null;
    // The log first: recording never throws, so a failure below cannot lose the claimed reward.
    if (record.segment !== null) {
      this.services.rewards.record({
        decisionId: beacon.frame, decidedAt: record.at, rewardedAt: nowMs, userId: this.#userId, segment: record.segment, source: record.source, reward,
        dwellMs: beacon.dwellMs, liked: beacon.liked === true, skipped: beacon.skipped === true, offline,
      });
    }
    metrics.beaconResults.inc({ result: offline ? 'offline' : reward === 1 ? 'rewarded' : 'unrewarded' });
    try {
      if (offline) await this.#countOfflineFrame(record);
      else if (counted) await this.services.bandit?.observe(record.segment!, record.source, reward);
    } catch (error) {
      // The reward is in the log (a rebuild restores the bandit's count); the player is not asked to retry.
      metrics.beaconResults.inc({ result: 'not_applied' });
      this.services.log.warn({ err: error, frame: beacon.frame }, 'a counted beacon was not applied to the live state');
    }
    if (beacon.id !== undefined) this.#send({ t: 'ack', req: beacon.id, ok: true, reward, counted });
  }

  /**
   * Dwell and likes steer the show: a like makes the next fresh frame premium; a long look keeps a
   * congested frame's charge. Only a generated frame has a charge to keep: a frame known to be from
   * the library asks PostgreSQL nothing.
   */
  async #steer(beacon: Beacon, shown: ShownRecord | null): Promise<void> {
    const { metrics, fresh } = this.services;
    metrics.beacons.inc({ effect: 'counted' });
    if (beacon.liked === true) {
      this.#playing().justLiked = true;
      metrics.beacons.inc({ effect: 'liked' });
    }
    if (fresh === null || shown?.source === 'library') return;
    if (await fresh.recordDisplay(beacon.frame, this.#userId, beacon.dwellMs)) metrics.beacons.inc({ effect: 'kept_charge' });
  }

  /** A stock frame was shown while the player was offline: it joins the show now (mix, seen, today's frames). */
  async #countOfflineFrame(record: ShownRecord): Promise<void> {
    const { engine, now } = this.services;
    const stock = record.stock!;
    await Promise.all([
      engine.addToMix(this.#record!.id, 'library', limits.sessionTtlMs),
      engine.markSeen(seenScope(this.#userId, stock), stock.seenId, limits.seenFramesPerGroupMax, limits.seenTtlMs),
      this.#paceOf().delivered(now(), 'library', 0),
    ]);
  }

  /**
   * Unseen library frames for an offline spell, remembered as stock items (so their beacons can be
   * checked and counted later); nothing is counted or marked seen until a beacon reports one shown.
   */
  async #stock(request: Stock): Promise<void> {
    const { decider, engine, now } = this.services;
    const record = this.#record!;
    const allowed = limits.stockItemsPerConnectionMax - (this.#play?.stocked ?? 0);
    if (allowed <= 0) {
      return this.error(ErrorCode.rateLimited, `this connection already took ${limits.stockItemsPerConnectionMax} stock frames; reconnect for more`, request.id);
    }
    const items = decider.stock({ context: record.context, orientation: record.orientation, seen: await this.#seen(record.context) }, Math.min(request.count, allowed));
    if (items.length > 0) this.#playing().stocked += items.length;
    const segment = this.services.texts.of(segmentOf(this.#account.tier, decider.groupOf(record.context)));
    await Promise.all(
      items.map((item) => {
        const shown: ShownRecord = {
          user: this.#userId, at: now(), segment, source: 'library', eligible: false, stock: { seenId: item.seenId, genre: item.genre, mood: item.mood },
        };
        if (item.frameId !== item.seenId) this.services.warmVariant(item.frameId);
        return engine.putRecord(shownKey(item.id), shown, stockRecordTtlMs);
      }),
    );
    this.#send({
      t: 'stock',
      req: request.id,
      frames: items.map((item) => ({
        id: item.id, frameId: item.frameId, url: this.services.frameUrl(item.frameId), width: item.width, height: item.height,
        orientation: item.orientation, fallback: item.fallback, genre: item.genre, mood: item.mood, style: item.style,
      })),
    });
  }

  #frameMessage(req: string, decision: Decision, summary: CreditSummary, mix: FrameMessage['mix']): FrameMessage {
    return {
      t: 'frame',
      id: decision.id,
      req,
      source: decision.source,
      frameId: decision.frameId,
      url: this.services.frameUrl(decision.frameId),
      width: decision.width,
      height: decision.height,
      orientation: decision.orientation,
      fallback: decision.fallback,
      charged: decision.charged,
      p: decision.p,
      balance: summary.balance,
      forecast: summary.forecast,
      mix,
      genre: decision.genre,
      mood: decision.mood,
      style: decision.style,
      reasons: decision.reasons,
    };
  }
}

/**
 * The engine key of what a beacon needs, a shown frame's (or stock item's) record and its one
 * claim: the decision's (or stock item's) id itself, the `id` a beacon names and a string the
 * decision holds already (a key made anew would be ~70 B more per decision kept in the in-process
 * engine). Not `Decision.frameId`: a library frame is shown to many users.
 */
const shownKey = (decisionId: string) => decisionId;
/** A stock item's record outlives its window like a shown frame's, so a late report is told it is late. */
const stockRecordTtlMs = shownRecordTtlMs({ dwellMsMin: 0, windowMs: limits.stockTtlMs });

const beaconRefusalText: Record<BeaconRefusal | typeof ErrorCode.duplicateBeacon, string> = {
  [ErrorCode.unknownFrame]: 'this beacon names no frame shown to this user recently',
  [ErrorCode.foreignBeacon]: "this beacon names another user's frame",
  [ErrorCode.lateBeacon]: "this beacon arrived after its frame's beacon window closed",
  [ErrorCode.duplicateBeacon]: 'this frame was already reported; the first beacon counted',
};

function sameBalance(a: Balance, b: Balance): boolean {
  return a.available === b.available && a.used === b.used && a.rollover === b.rollover && a.cycleEnd === b.cycleEnd;
}

/** The parameters of a `next` that must match on a retry with the same id. */
function fingerprintOf(context: Context | undefined): string {
  return context === undefined ? '-' : JSON.stringify([context.genre, context.mood, context.energy]);
}
