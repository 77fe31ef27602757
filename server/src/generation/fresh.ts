/**
 * Fresh frames for the decision path: ordering one (prompt cache, cost routing, congestion, the
 * debit and the job in one transaction), settling a pending one into a frame or a failure, the
 * user's inbox of frames that are ready but not shown yet, and display beacons.
 *
 * The prompt cache is shared across users. A hit is charged like a generation: credits buy the
 * user a fresh frame they have not seen, not our GPU time, and whether a frame will be a hit is
 * unknowable when the controller sets its probability, so charging the same keeps the budget
 * exact. The hit costs us nothing (`usd` 0) and arrives at once; the cache never serves a viewer
 * a variant they already saw.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Orientation } from '@titrate/shared';
import { accountIdOf, debitCallOf, type DebitRequest, type Ledger } from '../ledger/ledger.js';
import { after, Coalescer, type Scheduler } from '../db/coalesce.js';
import type { CachedCharges } from './charges.js';
import { limits } from '../limits.js';
import type { Metrics } from '../metrics/metrics.js';
import type { SeenFrames } from '../pantry/seen.js';
import type { UserAccount } from '../users/directory.js';
import { isCongested } from './congestion.js';
import type { WaitEstimator } from './estimator.js';
import { modelOfGrade, type ModelSpec, type ProviderName } from './models.js';
import { buildPrompt, promptHash, promptKeyOf, type Prompt } from './prompt.js';
import type { GenerationQueue } from './queue.js';
import { routeFresh } from './router.js';
import type { GenerationSaga } from './saga.js';
import type { CachedVariant, Generation, GenerationStore, NewGeneration } from './store.js';

export const freshLimits = {
  /** Images kept per prompt; a viewer who saw them all gets one again rather than a new paid one. */
  promptVariantsMax: 16,
  /** Extra time a waiting `next` allows past the generation's own deadline before it gives up. */
  deadlineGraceMs: 2_000,
  /** How long a congested generation may wait in the background queue before it is refunded. */
  backgroundDeadlineMs: 10 * 60_000,
  /**
   * Background frames one user may have on their way or waiting to be shown. Congestion answers
   * at once, so without a cap a fast player would queue (and hold credits for) one per request.
   */
  congestedPerUserMax: 4,
  /**
   * A user found at that cap is taken to stay there this long without asking again: a background
   * frame takes seconds to minutes, and a congested player asks once or twice a second.
   */
  saturatedReuseMs: 2_000,
  /** Users whose cap is remembered at once (the oldest is forgotten first). */
  saturatedKeptMax: 10_000,
} as const;

export type FreshRequest = {
  account: UserAccount;
  sessionId: string;
  requestId: string;
  context: Context;
  orientation: Orientation;
  style: string;
  width: number;
  height: number;
  seen: SeenFrames;
  p: number;
  reasons: string[];
  framesShown: number;
  justLiked: boolean;
  strongLibraryMatch: boolean;
};

export type FreshOrder =
  | { kind: 'ready'; generation: Generation }
  | { kind: 'pending'; generationId: string; etaMs: number; deadlineAtMs: number }
  | { kind: 'congested'; generationId: string; etaMs: number }
  | { kind: 'insufficient'; available: number; required: number }
  /** Congested, and this user already has `congestedPerUserMax` background frames coming. */
  | { kind: 'saturated'; open: number };

export type Settlement =
  | { kind: 'ready'; generation: Generation }
  | { kind: 'failed'; reason: string; refunded: boolean }
  | { kind: 'waiting'; etaMs: number };

export type FreshServices = {
  store: GenerationStore;
  queue: GenerationQueue;
  saga: GenerationSaga;
  ledger: Ledger;
  estimator: WaitEstimator;
  metrics: Metrics;
  provider: ProviderName;
  models: readonly ModelSpec[];
  generationTimeoutMs: number;
  congestionThresholdMs: number;
  /** Called after a job was enqueued by this process (wakes a local worker). */
  onEnqueued: () => void;
  /**
   * Called after a debit changed an account's credits (a balance push to the user's sessions),
   * with what it took and left, so a cached view of the debiting user can follow without a read.
   */
  onCreditChange: (accountId: string, debit?: { userId: string; charged: number; balanceAfter: number }) => void;
  /** Users known to have an empty inbox (none: the inbox is read on every request). */
  inbox?: InboxHints;
  /** Puts a batch of background inbox looks off (by `inboxLookBatchMs` unless a test says otherwise). */
  scheduleLooks?: Scheduler;
  /** Group commit for prompt-cache hits (none: one transaction per hit). */
  charges?: CachedCharges;
};

/**
 * Which users are known to have nothing in their inbox, so that a `next` does not ask PostgreSQL
 * on every frame. A frame can only enter a user's inbox by becoming ready, and every generation's
 * end is announced on the bus (`ready`), so "empty" is remembered from a read that found nothing
 * until that user's next announcement — unless the announcement came while the read was in flight
 * (a version check), and for at most `inboxHintTtlMs` in any case (a lost bus message heals). A
 * frame that was ready but still reserved for its own waiting request (`inboxHandoffMs`) is looked
 * for again once the reservation ends.
 *
 * The healing look is taken in the background while the user plays: from a random point in 60–90%
 * of the time to live (users read together come due apart), the next `next` still trusts the hint
 * and starts one look (`claimRecheck`); nothing waiting renews the hint, a frame waiting drops it so
 * the following `next` takes it. A playing session never waits for PostgreSQL to learn its inbox
 * is still empty.
 */
type EmptyHint = { readonly until: number; recheckAt: number; rechecking: boolean };

/** A claimed background look at a user's inbox (see `InboxHints.claimRecheck`). */
export type RecheckClaim = { readonly userId: string; readonly hint: object; readonly version: string };

/** After a background look failed, the next one is tried no sooner than this. */
const recheckRetryMs = 1_000;

export class InboxHints {
  readonly #empty = new Map<string, EmptyHint>();
  readonly #versions = new Map<string, number>();
  readonly #readyAt = new Map<string, number>();
  #resets = 0;
  readonly #handoffMs: number;
  readonly #random: () => number;

  constructor(handoffMs: number, random: () => number = Math.random) {
    this.#handoffMs = handoffMs;
    this.#random = random;
  }

  knownEmpty(userId: string, nowMs: number): boolean {
    const hint = this.#empty.get(userId);
    if (hint === undefined) return false;
    if (hint.until > nowMs) return true;
    this.#empty.delete(userId);
    return false;
  }

  /** Taken before reading the inbox; `markEmpty` needs it to tell whether news came meanwhile. */
  versionOf(userId: string): string {
    return `${this.#resets}:${this.#versions.get(userId) ?? 0}`;
  }

  markEmpty(userId: string, version: string, nowMs: number): void {
    if (version !== this.versionOf(userId)) return;
    if (this.#empty.size >= limits.inboxHintsMax) this.#reset();
    const ttlEnd = nowMs + limits.inboxHintTtlMs;
    let until = ttlEnd;
    const readyAt = this.#readyAt.get(userId);
    if (readyAt !== undefined) {
      if (readyAt + this.#handoffMs > nowMs) until = Math.min(until, readyAt + this.#handoffMs);
      else this.#readyAt.delete(userId);
    }
    // A hint cut short by a reserved frame ends when that frame may be free: the next `next` reads then.
    const recheckAt = until < ttlEnd ? until : nowMs + Math.round(limits.inboxHintTtlMs * (0.6 + 0.3 * this.#random()));
    this.#empty.set(userId, { until, recheckAt, rechecking: false });
  }

  /**
   * The user's hint is due for its background look and nobody is taking it: a claim, once, for the
   * caller who will (it ends with `recheckEnded`); null otherwise.
   */
  claimRecheck(userId: string, nowMs: number): RecheckClaim | null {
    const hint = this.#empty.get(userId);
    if (hint === undefined || hint.rechecking || nowMs < hint.recheckAt || nowMs >= hint.until) return null;
    hint.rechecking = true;
    return { userId, hint, version: this.versionOf(userId) };
  }

  /**
   * The look ended: nothing waiting renews the hint (unless news came meanwhile), a frame waiting
   * drops it so the next `next` reads the inbox, a failure leaves it and lets a look be tried again
   * `recheckRetryMs` after this one began. A claim on a hint that was replaced since changes nothing.
   */
  recheckEnded(claim: RecheckClaim, outcome: 'empty' | 'waiting' | 'failed', nowMs: number): void {
    const hint = this.#empty.get(claim.userId);
    if (hint === undefined || hint !== claim.hint) return;
    if (outcome === 'empty') return this.markEmpty(claim.userId, claim.version, nowMs);
    if (outcome === 'waiting') {
      this.#empty.delete(claim.userId);
      return;
    }
    hint.rechecking = false;
    hint.recheckAt = Math.min(hint.until, nowMs + recheckRetryMs);
  }

  /** A generation of this user ended (null or absent: of someone unknown, so of anyone). */
  ended(userId: string | null | undefined, nowMs: number): void {
    if (userId === undefined) return this.#reset();
    if (userId === null) return;
    if (this.#versions.size >= limits.inboxHintsMax || this.#readyAt.size >= limits.inboxHintsMax) this.#reset();
    this.#versions.set(userId, (this.#versions.get(userId) ?? 0) + 1);
    this.#readyAt.set(userId, nowMs);
    this.#empty.delete(userId);
  }

  #reset(): void {
    this.#resets += 1;
    this.#empty.clear();
    this.#versions.clear();
    this.#readyAt.clear();
  }
}

export class FreshFrames {
  readonly #services: FreshServices;
  /** Background looks at inboxes claimed since the last batch left. */
  readonly #looks: Coalescer<{ claim: RecheckClaim; nowMs: number }>;
  /** Users found at `congestedPerUserMax` background frames, and until when that count is reused. */
  readonly #saturated = new Map<string, { open: number; untilMs: number }>();
  /** Recently read prompt-cache lists, least recently read first (bounded). */
  readonly #variants = new Map<string, { variants: readonly CachedVariant[]; readAtMs: number }>();

  constructor(services: FreshServices) {
    this.#services = services;
    this.#looks = new Coalescer((batch) => this.#look(batch), {
      batchMax: limits.inboxLookBatchMax, schedule: services.scheduleLooks ?? after(limits.inboxLookBatchMs),
    });
  }

  get displayMinMs(): number {
    return this.#services.store.windows.displayMinMs;
  }

  async order(request: FreshRequest): Promise<FreshOrder> {
    const { store, metrics } = this.#services;
    const route = routeFresh({
      p: request.p, framesShown: request.framesShown, justLiked: request.justLiked, energy: request.context.energy,
      strongLibraryMatch: request.strongLibraryMatch,
    });
    const model = modelOfGrade(this.#services.models, route.grade);
    const prompt = buildPrompt({ context: request.context, style: request.style, orientation: request.orientation });
    const promptKey = promptKeyOf({ modelId: model.id, width: request.width, height: request.height, prompt: prompt.text });
    const { variants, next } = await this.#promptVariants(promptKey);
    const unseen = variants.find((entry) => !request.seen.has(entry.frameId));
    const reasons = [...request.reasons, ...route.reasons];
    const asked = { request, provider: this.#services.provider, model, prompt, promptKey };
    const reuse = unseen ?? (variants.length >= freshLimits.promptVariantsMax ? oldestSeen(variants, request.seen) : undefined);
    if (reuse !== undefined) {
      metrics.promptCache.inc({ result: 'hit' });
      const generation = newGenerationOf(asked, {
        purpose: 'interactive', queue: 'interactive', usd: 0, promptHash: reuse.promptHash, variant: reuse.variant,
        reasons: [...reasons, 'same prompt already generated: served from the prompt cache'], deadlineMs: 0,
      });
      const grouped = await this.#chargeCached(generation, accountIdOf(request.account), reuse.frameId);
      if (grouped !== null) return grouped;
      const placed = await this.#place(generation, accountIdOf(request.account), { frameId: reuse.frameId });
      if (placed.kind !== 'placed') return placed;
      await store.touchCache(reuse.promptHash);
      const settled = await this.settle(placed.generationId, request.sessionId, request.requestId, false);
      if (settled.kind === 'ready') return settled;
      // Answered meanwhile by a copy of this request on another socket of the session: that frame
      // is the answer; this hit's charge is held, and settles as any unshown frame's does.
      const answered = await store.answeredFor(request.sessionId, request.requestId);
      if (answered !== null) return { kind: 'ready', generation: answered };
      throw new Error(`cached generation ${placed.generationId} could not be answered: ${settled.kind}`);
    }
    metrics.promptCache.inc({ result: 'miss' });
    const etaMs = await this.#services.estimator.etaMs();
    if (Number.isFinite(etaMs)) metrics.generationEta.observe(etaMs / 1000);
    const congested = isCongested(etaMs, this.#services.congestionThresholdMs);
    if (congested) {
      const open = await this.#openCongested(request.account.id);
      if (open >= freshLimits.congestedPerUserMax) return { kind: 'saturated', open };
    }
    // Past every cached image and every generation still on its way (read with the cached images),
    // so that orders of one prompt in quick succession mostly draw different pictures instead of
    // paying for the same one twice; two orders read at the same moment can still draw the same.
    const variant = next ?? (await store.nextVariant(promptKey));
    const deadlineMs = congested ? freshLimits.backgroundDeadlineMs : etaMs + this.#services.generationTimeoutMs;
    const generation = newGenerationOf(asked, {
      purpose: congested ? 'congested' : 'interactive', queue: congested ? 'background' : 'interactive', usd: model.usd,
      promptHash: promptHash(promptKey, variant), variant, reasons, deadlineMs,
    });
    const placed = await this.#place(generation, accountIdOf(request.account));
    if (placed.kind !== 'placed') return placed;
    this.#services.estimator.noteEnqueued();
    this.#services.onEnqueued();
    const id = placed.generationId;
    if (congested) return { kind: 'congested', generationId: id, etaMs: Number.isFinite(etaMs) ? Math.round(etaMs) : -1 };
    return { kind: 'pending', generationId: id, etaMs: Math.round(etaMs), deadlineAtMs: Date.now() + deadlineMs + freshLimits.deadlineGraceMs };
  }

  /**
   * The debit and its outcome in one transaction: the generation row, and the job unless the image
   * already exists. A retried request (same session and `next` id) finds the first debit and its
   * generation instead of paying twice.
   */
  async #place(
    generation: NewGeneration & { userId: string },
    accountId: string,
    ready?: { frameId: string },
  ): Promise<{ kind: 'placed'; generationId: string } | { kind: 'insufficient'; available: number; required: number }> {
    const { ledger, store, queue, metrics } = this.#services;
    const result = await ledger.debit(
      debitOf(generation, ready !== undefined),
      async (client, debit) => {
        const row = { ...generation, ledgerId: debit.ledgerId, charge: debit.ledgerId === null ? ('none' as const) : ('held' as const) };
        await store.insert(client, row, ready);
        if (ready === undefined) await queue.send(client, generation.queue, generation.id);
      },
    );
    if (result.status === 'insufficient') {
      metrics.debits.inc({ kind: 'generation', result: 'insufficient' });
      return { kind: 'insufficient', available: result.available, required: result.required };
    }
    if (result.status !== 'debited') throw new Error(`generation debit for ${generation.userId} answered ${result.status}`);
    metrics.debits.inc({ kind: 'generation', result: result.replayed ? 'replayed' : 'debited' });
    if (!result.replayed && result.charged > 0) this.#services.onCreditChange(accountId, debitFacts(generation.userId, result.charged, result.balanceAfter));
    const generationId = typeof result.outcome['generation'] === 'string' ? result.outcome['generation'] : generation.id;
    return { kind: 'placed', generationId };
  }

  /**
   * How many background frames the user has coming. A count at the cap is kept for
   * `saturatedReuseMs`, so a congested player's every `next` does not ask PostgreSQL again; a
   * count under it is never kept, since the order that follows changes it.
   */
  async #openCongested(userId: string): Promise<number> {
    const nowMs = Date.now();
    const known = this.#saturated.get(userId);
    if (known !== undefined && known.untilMs > nowMs) return known.open;
    this.#saturated.delete(userId);
    const open = await this.#services.store.openCongested(userId);
    if (open >= freshLimits.congestedPerUserMax) {
      if (this.#saturated.size >= freshLimits.saturatedKeptMax) this.#saturated.delete(this.#saturated.keys().next().value!);
      this.#saturated.set(userId, { open, untilMs: nowMs + freshLimits.saturatedReuseMs });
    }
    return open;
  }

  /**
   * The prompt's cached images, and the next variant when it was read with them (null when the
   * list came from memory). A prompt with all its variants (`promptVariantsMax`) gets no more, so
   * its list is kept in memory for `promptVariantsReadMs`: the popular prompts, read on every hit
   * otherwise; such a list always has a frame to serve, so its next variant is not needed. A list
   * still growing is read every time, so a fresh image serves at once.
   */
  async #promptVariants(promptKey: string): Promise<{ variants: readonly CachedVariant[]; next: number | null }> {
    const nowMs = Date.now();
    const known = this.#variants.get(promptKey);
    if (known !== undefined && known.readAtMs + limits.promptVariantsReadMs > nowMs) return { variants: known.variants, next: null };
    const { cached, next } = await this.#services.store.promptVariants(promptKey);
    this.#variants.delete(promptKey);
    if (cached.length >= freshLimits.promptVariantsMax) {
      if (this.#variants.size >= limits.promptVariantsKeptMax) this.#variants.delete(this.#variants.keys().next().value!);
      this.#variants.set(promptKey, { variants: cached, readAtMs: nowMs });
    }
    return { variants: cached, next };
  }

  /**
   * A prompt-cache hit through the group commit (see `CachedCharges`): the debit, the generation
   * row answered at once, and the outcome, with other users' hits in one statement. Null when the
   * ordinary path must take it (no group commit configured, a replay, an account to prepare). A
   * request another generation already answers gets that generation.
   */
  async #chargeCached(generation: NewGeneration & { userId: string }, accountId: string, frameId: string): Promise<FreshOrder | null> {
    const { charges, metrics } = this.#services;
    if (charges === undefined) return null;
    const result = await charges.charge({ debit: debitCallOf(debitOf(generation, true)), generation, frameId });
    if (result.status === 'fallback') return null;
    if (result.status === 'answered') {
      // By a copy of this request on another socket of the session: that frame is the answer, and
      // nothing was charged for this copy.
      const answered = await this.#services.store.answeredFor(generation.sessionId, generation.requestId);
      return answered === null ? null : { kind: 'ready', generation: answered };
    }
    if (result.status === 'insufficient') {
      metrics.debits.inc({ kind: 'generation', result: 'insufficient' });
      return { kind: 'insufficient', available: result.available, required: generation.credits };
    }
    metrics.debits.inc({ kind: 'generation', result: 'debited' });
    if (result.charged > 0) this.#services.onCreditChange(accountId, debitFacts(generation.userId, result.charged, result.balanceAfter));
    return { kind: 'ready', generation: answeredFromCache(generation, result.ledgerId, frameId, Date.now()) };
  }

  /**
   * Turns a pending generation into its outcome for the `next` that waits for it. With `force`
   * (the waiter's deadline passed) an unfinished generation is failed and refunded first.
   */
  async settle(generationId: string, sessionId: string, requestId: string, force: boolean): Promise<Settlement> {
    const { store, saga } = this.#services;
    let generation = await store.get(generationId);
    if (generation === null) return { kind: 'failed', reason: 'unknown generation', refunded: false };
    if ((generation.state === 'queued' || generation.state === 'running') && force) {
      await saga.fail(generationId, 'deadline', null);
      generation = (await store.get(generationId))!;
    }
    if (generation.state === 'failed') return { kind: 'failed', reason: generation.error ?? 'failed', refunded: generation.charge === 'refunded' };
    if (generation.state !== 'ready') return { kind: 'waiting', etaMs: Math.max(0, Math.round(generation.deadlineAtMs - Date.now())) };
    const answered = await store.answer(generationId, sessionId, requestId);
    if (answered !== null) return { kind: 'ready', generation: answered };
    // Answered already: by this very request (a replay), or by another one that took it over.
    const again = (await store.get(generationId))!;
    if (again.answerSession === sessionId && again.answerRequest === requestId) return { kind: 'ready', generation: again };
    return { kind: 'failed', reason: 'the frame was shown to another request', refunded: false };
  }

  /** A ready frame of this user that nobody was shown yet (see `GenerationStore.takeFromInbox`). */
  async takeFromInbox(userId: string, orientation: Orientation, sessionId: string, requestId: string): Promise<Generation | null> {
    const hints = this.#services.inbox;
    if (hints === undefined) return this.#services.store.takeFromInbox(userId, orientation, sessionId, requestId);
    const nowMs = Date.now();
    if (hints.knownEmpty(userId, nowMs)) {
      const claim = hints.claimRecheck(userId, nowMs);
      if (claim !== null) this.#looks.add(userId, { claim, nowMs });
      return null;
    }
    const version = hints.versionOf(userId);
    const taken = await this.#services.store.takeFromInbox(userId, orientation, sessionId, requestId);
    // Another orientation's frame may wait: only an inbox with nothing at all is known empty.
    if (taken === null && !(await this.#services.store.hasInbox(userId))) hints.markEmpty(userId, version, Date.now());
    return taken;
  }

  /** The background looks at known-empty inboxes (see `InboxHints`), one query for the batch. */
  async #look(batch: Array<{ claim: RecheckClaim; nowMs: number }>): Promise<void> {
    const hints = this.#services.inbox!;
    try {
      const waiting = await this.#services.store.waitingInboxes(batch.map(({ claim }) => claim.userId));
      const nowMs = Date.now();
      for (const { claim } of batch) hints.recheckEnded(claim, waiting.has(claim.userId) ? 'waiting' : 'empty', nowMs);
    } catch {
      for (const { claim, nowMs } of batch) hints.recheckEnded(claim, 'failed', nowMs);
    }
  }

  /** A display beacon: keeps a congested frame's charge once it was shown long enough. */
  async recordDisplay(frameDecisionId: string, userId: string, dwellMs: number): Promise<boolean> {
    if (dwellMs < this.displayMinMs) return false;
    return this.#services.store.recordDisplay(frameDecisionId, userId, dwellMs);
  }
}

/** What every new generation of one order shares: who asked, for what, from which model. */
type Asked = { request: FreshRequest; provider: string; model: ModelSpec; prompt: Prompt; promptKey: string };

/**
 * A new generation, every field written out: one object shape for all of them (spreading a shared
 * base and adding fields made V8 build each object's layout anew, a tenth of the charge path).
 */
function newGenerationOf(
  { request, provider, model, prompt, promptKey }: Asked,
  own: Pick<NewGeneration, 'purpose' | 'queue' | 'usd' | 'promptHash' | 'variant' | 'reasons' | 'deadlineMs'>,
): NewGeneration & { userId: string } {
  return {
    id: randomUUID(), userId: request.account.id, sessionId: request.sessionId, requestId: request.requestId, purpose: own.purpose, queue: own.queue,
    charge: 'held', provider, model: model.id, credits: model.credits, usd: own.usd, ledgerId: null, prompt: prompt.text, promptKey,
    promptHash: own.promptHash, variant: own.variant, genre: prompt.genre, mood: prompt.mood, style: request.style, energy: prompt.energy,
    orientation: request.orientation, width: request.width, height: request.height, p: request.p, reasons: own.reasons, deadlineMs: own.deadlineMs,
  };
}

/** The generation row a group-committed prompt-cache hit wrote: ready and answered at once. */
function answeredFromCache(generation: NewGeneration & { userId: string }, ledgerId: string | null, frameId: string, nowMs: number): Generation {
  return {
    id: generation.id, userId: generation.userId, sessionId: generation.sessionId, requestId: generation.requestId, purpose: generation.purpose,
    queue: generation.queue, provider: generation.provider, model: generation.model, credits: generation.credits, usd: generation.usd, ledgerId,
    prompt: generation.prompt, promptKey: generation.promptKey, promptHash: generation.promptHash, variant: generation.variant, genre: generation.genre,
    mood: generation.mood, style: generation.style, energy: generation.energy, orientation: generation.orientation, width: generation.width,
    height: generation.height, p: generation.p, reasons: generation.reasons, state: 'ready', charge: ledgerId === null ? 'none' : 'kept', cacheHit: true,
    attempt: 0, frameId, error: null, deadlineAtMs: nowMs, settleByMs: null, answeredAtMs: nowMs, answerSession: generation.sessionId,
    answerRequest: generation.requestId, createdAtMs: nowMs, startedAtMs: nowMs, finishedAtMs: nowMs,
  };
}

function debitFacts(userId: string, charged: number, balanceAfter: number | null) {
  return balanceAfter === null ? undefined : { userId, charged, balanceAfter };
}

/** The debit of a generation: one per (session, request), and a retry must ask for the same model. */
function debitOf(generation: NewGeneration & { userId: string }, cacheHit: boolean): DebitRequest {
  return {
    userId: generation.userId, kind: 'generation', requestId: `${generation.sessionId}:${generation.requestId}`, amount: generation.credits,
    parameters: { model: generation.model }, details: { generation: generation.id, model: generation.model, cacheHit },
    // A retry finds the generation its first debit paid for through the stored outcome.
    outcome: { generation: generation.id },
  };
}

/** Among cached variants (all seen), the one this viewer saw longest ago. */
function oldestSeen<T extends { frameId: string }>(variants: readonly T[], seen: SeenFrames): T | undefined {
  return [...variants].sort((a, b) => (seen.get(a.frameId) ?? -1) - (seen.get(b.frameId) ?? -1))[0];
}
