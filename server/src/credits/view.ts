/**
 * What a player is told about credits: the balance and a forecast of fresh frames per day, read
 * from the ledger's snapshot of the user's account (or team pool). The forecast uses the
 * account's demand (what it spends a day and what a fresh frame costs it) when the caller knows
 * it, and the prior otherwise.
 */
import type { Balance, Forecast } from '@titrate/shared';
import type { Ledger } from '../ledger/ledger.js';
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

export class LedgerCreditView implements CreditView {
  readonly #ledger: Ledger;

  constructor(ledger: Ledger) {
    this.#ledger = ledger;
  }

  async summaryOf(account: UserAccount, nowMs: number, demand?: Demand): Promise<CreditSummary> {
    const view = await this.#ledger.view(account.id);
    if (view === null) throw new Error(`user ${account.id} vanished`);
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
