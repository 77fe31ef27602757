/**
 * The saga that ties every debit to one outcome. A fresh frame's debit is *held* from the moment
 * it is taken; it becomes *kept* when the user gets the frame, or *refunded* when they cannot:
 *
 *   generation fails (provider error, malformed image, timeout, a dead worker)  → refund at once
 *   interactive frame ready but never shown within `inboxHoldMs`                → refund
 *   congested frame not displayed for `displayMinMs` within its windows         → refund
 *
 * Each refund is the ledger's refund of that debit (one per debit, by the ledger's own key)
 * guarded, in the same transaction, by the generation's conditional state change — so a worker
 * finishing at the same instant as a deadline passing can never both deliver and refund.
 */
import type { Logger } from 'pino';
import type { MessageBus } from '../bus/bus.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { GenerationStore } from './store.js';

/** What the bus carries when a generation ends. */
/** A generation ended. `user` is null for pantry fills, and absent in events of servers older than the inbox hints. */
export type GenerationEvent = { id: string; session: string; user?: string | null; outcome: 'ready' | 'failed' };

export const refundReasons = ['generation_failed', 'not_delivered', 'not_displayed'] as const;
export type RefundReason = (typeof refundReasons)[number];

export class GenerationSaga {
  readonly #store: GenerationStore;
  readonly #ledger: Ledger;
  readonly #bus: MessageBus;
  readonly #metrics: Metrics;
  readonly #log: Logger;

  constructor(services: { store: GenerationStore; ledger: Ledger; bus: MessageBus; metrics: Metrics; log: Logger }) {
    this.#store = services.store;
    this.#ledger = services.ledger;
    this.#bus = services.bus;
    this.#metrics = services.metrics;
    this.#log = services.log;
  }

  /**
   * Fails an unfinished generation and refunds its held debit, exactly once. `attempt` limits the
   * change to the worker attempt that reports it (null: whoever holds it, e.g. a passed deadline).
   * Answers whether this call made the change.
   */
  async fail(id: string, reason: string, attempt: number | null): Promise<boolean> {
    const generation = await this.#store.get(id);
    if (generation === null || (generation.state !== 'queued' && generation.state !== 'running')) return false;
    let changed = false;
    if (generation.charge === 'held' && generation.ledgerId !== null) {
      await this.#ledger.refund(generation.ledgerId, 'generation_failed', async (client) => {
        changed = await this.#store.fail(client, id, reason, attempt);
        return changed;
      });
      if (changed) this.#metrics.refunds.inc({ reason: 'generation_failed' });
    } else {
      changed = await this.#store.fail(null, id, reason, attempt);
    }
    if (!changed) return false;
    this.#metrics.generations.inc({ model: generation.model, outcome: outcomeLabel(reason) });
    this.#log.info({ generation: id, reason, model: generation.model }, 'generation failed; debit refunded');
    await this.announce({ id, session: generation.sessionId, user: generation.userId, outcome: 'failed' });
    return true;
  }

  /** Refunds a ready frame's held debit whose settle-by time passed (not shown, or not long enough). */
  async expireHeld(id: string, ledgerId: string, purpose: 'interactive' | 'congested'): Promise<boolean> {
    let changed = false;
    await this.#ledger.refund(ledgerId, purpose === 'interactive' ? 'not_delivered' : 'not_displayed', async (client) => {
      changed = await this.#store.expireHeld(client, id);
      return changed;
    });
    if (changed) this.#metrics.refunds.inc({ reason: purpose === 'interactive' ? 'not_delivered' : 'not_displayed' });
    return changed;
  }

  /** Settles whatever is past its time: overdue generations fail, unshown held frames are refunded. */
  async sweep(batchMax: number): Promise<{ failed: number; expired: number }> {
    let failed = 0;
    let expired = 0;
    // One row that cannot be settled must not hold up the rows behind it.
    const each = async (id: string, work: () => Promise<boolean>) => {
      try {
        return await work();
      } catch (error) {
        this.#log.error({ err: error, generation: id }, 'could not settle a generation; the next sweep tries again');
        return false;
      }
    };
    for (const overdue of await this.#store.overdue(batchMax)) if (await each(overdue.id, () => this.fail(overdue.id, 'deadline', null))) failed += 1;
    for (const held of await this.#store.unsettled(batchMax)) {
      if (await each(held.id, () => this.expireHeld(held.id, held.ledgerId, held.purpose))) expired += 1;
    }
    return { failed, expired };
  }

  async announce(event: GenerationEvent): Promise<void> {
    await this.#bus.publish('generations', JSON.stringify(event)).catch((error: unknown) => {
      // Waiters have deadlines of their own; a lost event makes an answer late, never wrong.
      this.#log.warn({ err: error, generation: event.id }, 'generation event not published');
    });
  }
}

/** Failure reasons as metric labels (a closed set). */
const failureOutcomes = ['timeout', 'rate_limited', 'malformed', 'unavailable', 'rejected', 'deadline', 'internal'] as const;
export type FailureOutcome = (typeof failureOutcomes)[number];

export function outcomeLabel(reason: string): FailureOutcome {
  return (failureOutcomes as readonly string[]).includes(reason) ? (reason as FailureOutcome) : 'internal';
}
