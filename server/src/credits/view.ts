/**
 * What a player is told about credits: the balance and a forecast of fresh frames per day.
 *
 * Until the ledger exists nothing is ever debited, so the balance of a cycle is exactly the tier's
 * base quota; `QuotaCreditView` states that. The ledger replaces it behind the same interface.
 */
import type { Balance, Forecast } from '@titrate/shared';
import { monthlyCycle } from '../users/cycle.js';
import type { UserAccount } from '../users/directory.js';

export type CreditSummary = { balance: Balance; forecast: Forecast };

export interface CreditView {
  summaryOf(account: UserAccount, nowMs: number): Promise<CreditSummary>;
}

const dayMs = 86_400_000;

/**
 * Fresh frames per day that finish the cycle on pace: available credits spread over the days
 * left. The low end allows for a busier-than-usual rest of the month (15% margin).
 */
export function forecastFor(available: number, nowMs: number, cycleEndMs: number, unlimited: boolean): Forecast {
  if (unlimited) return { freshPerDayLow: 0, freshPerDayHigh: 0, runOutRisk: 'low' };
  const daysLeft = Math.max(1, (cycleEndMs - nowMs) / dayMs);
  const perDay = available / daysLeft;
  const round = (value: number) => Math.round(value * 10) / 10;
  return { freshPerDayLow: round(perDay * 0.85), freshPerDayHigh: round(perDay), runOutRisk: available > 0 ? 'low' : 'high' };
}

export class QuotaCreditView implements CreditView {
  async summaryOf(account: UserAccount, nowMs: number): Promise<CreditSummary> {
    const cycle = monthlyCycle(nowMs, account.tz);
    const available = account.unlimited ? 0 : account.baseQuota;
    return {
      balance: { available, used: 0, rollover: 0, cycleEnd: new Date(cycle.endMs).toISOString() },
      forecast: forecastFor(available, nowMs, cycle.endMs, account.unlimited),
    };
  }
}
