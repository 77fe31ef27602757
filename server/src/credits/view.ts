/**
 * What a player is told about credits: the balance and a forecast of fresh frames per day, read
 * from the ledger's snapshot of the user's account (or team pool).
 */
import type { Balance, Forecast } from '@titrate/shared';
import type { Ledger } from '../ledger/ledger.js';
import type { UserAccount } from '../users/directory.js';

export type CreditSummary = { balance: Balance; forecast: Forecast; burstUntil: string | null };

export interface CreditView {
  summaryOf(account: UserAccount, nowMs: number): Promise<CreditSummary>;
}

const dayMs = 86_400_000;

/**
 * Fresh frames per day that finish the cycle on pace: available credits spread over the days
 * left. The low end allows for a busier-than-usual rest of the cycle (15% margin).
 */
export function forecastFor(available: number, nowMs: number, cycleEndMs: number, unlimited: boolean): Forecast {
  if (unlimited) return { freshPerDayLow: 0, freshPerDayHigh: 0, runOutRisk: 'low' };
  const daysLeft = Math.max(1, (cycleEndMs - nowMs) / dayMs);
  const perDay = available / daysLeft;
  const round = (value: number) => Math.round(value * 10) / 10;
  return { freshPerDayLow: round(perDay * 0.85), freshPerDayHigh: round(perDay), runOutRisk: available > 0 ? 'low' : 'high' };
}

export class LedgerCreditView implements CreditView {
  readonly #ledger: Ledger;

  constructor(ledger: Ledger) {
    this.#ledger = ledger;
  }

  async summaryOf(account: UserAccount, nowMs: number): Promise<CreditSummary> {
    const credits = await this.#ledger.view(account.id);
    if (credits === null) throw new Error(`user ${account.id} vanished`);
    return {
      balance: { available: credits.available, used: credits.used, rollover: credits.rollover, cycleEnd: credits.cycleEnd },
      forecast: forecastFor(credits.available, nowMs, Date.parse(credits.cycleEnd), credits.unlimited),
      burstUntil: credits.burstUntil,
    };
  }
}
