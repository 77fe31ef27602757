/**
 * What a player is told about credits: the balance and a forecast of fresh frames per day, read
 * from the ledger's snapshot of the user's account (or team pool). The forecast uses the
 * account's demand (what it spends a day and what a fresh frame costs it) when the caller knows
 * it, and the prior otherwise.
 */
import type { Balance, Forecast } from '@titrate/shared';
import { accountIdOf, unprepared, type AccountView, type Ledger } from '../ledger/ledger.js';
import { BatchedReads } from '../db/batchedReads.js';
import { after, Coalescer, type Scheduler } from '../db/coalesce.js';
import { limits } from '../limits.js';
import { defaultPrior, paceForecast, type Demand } from '../titration/forecast.js';
import type { UserAccount } from '../users/directory.js';

export type CreditState = { available: number; used: number; cycleStartMs: number; cycleEndMs: number; unlimited: boolean };
export type CreditSummary = { balance: Balance; forecast: Forecast; burstUntil: string | null; credits: CreditState };

export interface CreditView {
  summaryOf(account: UserAccount, nowMs: number, demand?: Demand): Promise<CreditSummary>;
}

const dayMs = 86_400_000;

/** The forecast for a credit state at `nowMs`, at the account's demand. */
export function forecastFor(credits: CreditState, nowMs: number, demand?: Pick<Demand, 'creditsPerFresh' | 'creditsPerDay'>): Forecast {
  return paceForecast({
    available: credits.available,
    daysLeft: (credits.cycleEndMs - nowMs) / dayMs,
    creditsPerFresh: demand?.creditsPerFresh ?? defaultPrior.creditsPerFresh,
    creditsPerDay: demand?.creditsPerDay ?? 0,
    unlimited: credits.unlimited,
  });
}

/**
 * The last view read of each user's account, so that the decision path reads the ledger's snapshot
 * only when it may have changed. Every credit change is announced (the ledger's `onChange`, debits
 * of fresh frames and bursts) on this node at once and on every other node through the bus; an
 * announcement moves its account's epoch on, and a view read under an older epoch is never used
 * again. A read that raced with an announcement is not kept. Views also expire after
 * `creditViewTtlMs` (an announcement lost with a bus connection heals by itself), and are read
 * again when the cycle or a burst they describe has ended.
 *
 * A view in use is read again ahead of its expiry, in the background: from 70–90% of its time to
 * live (a random point, so views read together do not all come due together) the next decision
 * still uses it and claims one read that replaces it. The claimed reads of a moment are one query
 * (`LedgerCreditView`), so a node's background reads are a few queries a second however many users
 * play. A playing session never waits for PostgreSQL for its balance; only one whose view expired
 * outright (idle that long, or a change announced) does.
 *
 * Only what a player is shown and what the controller weighs come from here; a debit checks the
 * balance under the account's lock in PostgreSQL whatever this says.
 */
type ViewEntry = { view: AccountView; epoch: number; readonly renewAtMs: number; refreshAtMs: number; refreshing: boolean };

/** A claimed background read of a view (see `claimRefresh`). */
export type RefreshClaim = { readonly userId: string; readonly entry: object };

/** After a background read failed, the next one is tried no sooner than this. */
const refreshRetryMs = 1_000;

/** How long the bus's echo of an announcement made here is waited for. */
const echoWaitMs = 5_000;

export class CreditViewCache {
  readonly #views = new Map<string, ViewEntry>();
  readonly #epochs = new Map<string, number>();
  /** Announcements made here whose bus echo has not come back yet, per account. */
  readonly #echoes = new Map<string, { count: number; atMs: number }>();
  readonly #random: () => number;

  constructor(options: { random?: () => number } = {}) {
    this.#random = options.random ?? Math.random;
  }

  /** The account's credits changed: every view of it read before now is stale. */
  invalidate(accountId: string): void {
    if (this.#epochs.size >= limits.creditViewsMax) this.#reset();
    this.#epochs.set(accountId, (this.#epochs.get(accountId) ?? 0) + 1);
  }

  /**
   * This process changed the account's credits and announces it on the bus: stale at once here,
   * and the bus's echo of this very announcement (to every node, this one included) is expected.
   * A debit by `debit.userId` whose cached view was current right before it moves that view on
   * with it instead of leaving it to be read again.
   */
  changedHere(accountId: string, nowMs: number, debit?: { userId: string; charged: number; balanceAfter: number }): void {
    const entry = debit === undefined ? undefined : this.#views.get(debit.userId);
    const follows =
      entry !== undefined && debit !== undefined && entry.view.accountId === accountId && entry.epoch === this.epochOf(accountId) &&
      entry.view.available - debit.charged === debit.balanceAfter;
    this.invalidate(accountId);
    if (follows) {
      entry.view = { ...entry.view, available: debit.balanceAfter, used: entry.view.used + debit.charged };
      entry.epoch = this.epochOf(accountId);
    }
    if (this.#echoes.size >= limits.creditViewsMax) this.#echoes.clear();
    const pending = this.#echoes.get(accountId);
    this.#echoes.set(accountId, { count: (pending !== undefined && pending.atMs + echoWaitMs > nowMs ? pending.count : 0) + 1, atMs: nowMs });
  }

  /**
   * An announcement arrived from the bus. The echo of one made here changes nothing (a view that
   * followed this node's own debit stays); any other makes the account's views stale. Echoes that
   * never came are forgotten after a few seconds, so a lost one cannot hide a later change.
   */
  heard(accountId: string, nowMs: number): void {
    const pending = this.#echoes.get(accountId);
    if (pending !== undefined && pending.atMs + echoWaitMs > nowMs && pending.count > 0) {
      if (pending.count === 1) this.#echoes.delete(accountId);
      else pending.count -= 1;
      return;
    }
    this.#echoes.delete(accountId);
    this.invalidate(accountId);
  }

  epochOf(accountId: string): number {
    return this.#epochs.get(accountId) ?? 0;
  }

  get(userId: string, accountId: string, nowMs: number): AccountView | null {
    const entry = this.#views.get(userId);
    if (entry === undefined) return null;
    if (entry.view.accountId !== accountId || entry.epoch !== this.epochOf(accountId) || nowMs >= entry.renewAtMs) {
      this.#views.delete(userId);
      return null;
    }
    return entry.view;
  }

  /** Keeps a view read under `epoch`, unless a change was announced since. */
  put(userId: string, view: AccountView, epoch: number, nowMs: number): void {
    if (epoch !== this.epochOf(view.accountId)) return;
    if (this.#views.size >= limits.creditViewsMax) this.#reset();
    const burstEndMs = view.burstUntil === null ? Infinity : Date.parse(view.burstUntil);
    const renewAtMs = Math.min(nowMs + limits.creditViewTtlMs, Date.parse(view.cycleEnd), burstEndMs);
    const refreshAtMs = Math.min(renewAtMs, nowMs + limits.creditViewTtlMs * (0.7 + 0.2 * this.#random()));
    this.#views.delete(userId);
    this.#views.set(userId, { view, epoch, renewAtMs, refreshAtMs, refreshing: false });
  }

  /**
   * The user's current view is due to be read again ahead of its expiry and nobody is reading it
   * yet: a claim, once, for the caller who will (it calls `put` with the result, and `refreshEnded`
   * either way); null otherwise.
   */
  claimRefresh(userId: string, nowMs: number): RefreshClaim | null {
    const entry = this.#views.get(userId);
    if (entry === undefined || entry.refreshing || nowMs < entry.refreshAtMs) return null;
    entry.refreshing = true;
    return { userId, entry };
  }

  /**
   * A claimed read ended. If the view it was for is still the one kept (the read was not kept: it
   * failed, or raced with a change that moved the view on), the view may be read again: at once
   * after a race, `refreshRetryMs` after the failed read began (not on every decision of an outage).
   */
  refreshEnded(claim: RefreshClaim, failed: boolean, nowMs: number): void {
    const entry = this.#views.get(claim.userId);
    if (entry === undefined || entry !== claim.entry) return;
    entry.refreshing = false;
    if (failed) entry.refreshAtMs = Math.min(entry.renewAtMs, nowMs + refreshRetryMs);
  }

  get size(): number {
    return this.#views.size;
  }

  /** Past the bound everything is forgotten at once (views and epochs together, so no stale view survives). */
  #reset(): void {
    this.#views.clear();
    this.#epochs.clear();
    this.#echoes.clear();
  }
}

/** A background read claimed by a decision, waiting for its batch. */
type DueRefresh = { claim: RefreshClaim; accountId: string; nowMs: number };

export class LedgerCreditView implements CreditView {
  readonly #ledger: Pick<Ledger, 'views' | 'readViews' | 'view'>;
  readonly #cache: CreditViewCache | null;
  readonly #due: Coalescer<DueRefresh>;
  /**
   * Views read for sessions that have none yet, the reads of a moment made together. A view whose
   * account needs work first is prepared after its batch, on its own, so that one account's lock
   * holds up nobody else's read.
   */
  readonly #reads: BatchedReads<string, AccountView | typeof unprepared | null>;

  /** `schedule` puts a batch of background reads off (by `creditViewRefreshBatchMs` unless a test says otherwise). */
  constructor(ledger: Pick<Ledger, 'views' | 'readViews' | 'view'>, cache: CreditViewCache | null = null, schedule: Scheduler = after(limits.creditViewRefreshBatchMs)) {
    this.#ledger = ledger;
    this.#cache = cache;
    this.#due = new Coalescer((batch) => this.#refresh(batch), { batchMax: limits.creditViewRefreshBatchMax, schedule });
    this.#reads = new BatchedReads((userIds) => this.#ledger.readViews(userIds), null, limits.creditViewReads);
  }

  async #view(account: UserAccount, nowMs: number): Promise<AccountView> {
    const accountId = accountIdOf(account);
    const cache = this.#cache;
    const cached = cache?.get(account.id, accountId, nowMs) ?? null;
    if (cached === null) return this.#read(account.id, accountId, nowMs);
    const claim = cache!.claimRefresh(account.id, nowMs);
    if (claim !== null) this.#due.add(account.id, { claim, accountId, nowMs });
    return cached;
  }

  /** Reads the user's view from the ledger and keeps it (unless a change was announced meanwhile). */
  async #read(userId: string, accountId: string, nowMs: number): Promise<AccountView> {
    const epoch = this.#cache?.epochOf(accountId) ?? 0;
    const read = await this.#reads.load(userId);
    const view = read === unprepared ? await this.#ledger.view(userId) : read;
    if (view === null) throw new Error(`user ${userId} vanished`);
    this.#cache?.put(userId, view, epoch, nowMs);
    return view;
  }

  /**
   * One query for a batch of claimed reads. A view is kept under the epoch its account had when the
   * query left, so a change announced while it runs still wins; a read that failed, or a user gone,
   * ends its claim as failed.
   */
  async #refresh(batch: DueRefresh[]): Promise<void> {
    const cache = this.#cache!;
    const epochs = batch.map((due) => cache.epochOf(due.accountId));
    const views = await this.#ledger.views(batch.map((due) => due.claim.userId)).catch(() => null);
    batch.forEach((due, index) => {
      const view = views?.get(due.claim.userId);
      if (view !== undefined) cache.put(due.claim.userId, view, epochs[index]!, due.nowMs);
      cache.refreshEnded(due.claim, view === undefined, due.nowMs);
    });
  }

  async summaryOf(account: UserAccount, nowMs: number, demand?: Demand): Promise<CreditSummary> {
    const view = await this.#view(account, nowMs);
    const credits: CreditState = {
      available: view.available, used: view.used, cycleStartMs: Date.parse(view.cycleStart), cycleEndMs: Date.parse(view.cycleEnd), unlimited: view.unlimited,
    };
    return {
      balance: { available: view.available, used: view.used, rollover: view.rollover, cycleEnd: view.cycleEnd },
      forecast: forecastFor(credits, nowMs, demand),
      burstUntil: view.burstUntil,
      credits,
    };
  }
}
