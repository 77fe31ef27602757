/**
 * Credit arithmetic: the pure rules of the credit model, shared by the ledger and its tests.
 *
 * At a cycle's end, with base quota B (the tier's, times the region's multiplier), cap multiple c
 * (the tier's, 3 by default; the tier's annual cap, 6 by default, for annual users) and U credits
 * unused:
 *
 *   carried  = min(U, floor(c × B))                 unused credits above the cap expire
 *   decay    = floor(0.10 × max(0, carried − 2B))   a soft decay of what sits above 2B
 *   rollover = carried − decay
 *   opening  = rollover + B                         the next cycle's balance
 *
 * and the ledger writes `expire −U`, `rollover +carried` (details: U and carried), `decay −decay`
 * when positive and `refill +B`, so that every entry is non-zero and the entries still sum to the
 * balance. Credits are integers throughout; multipliers are applied once and floored.
 */
import { createHash } from 'node:crypto';
import { limits } from '../limits.js';

export const decayRate = 0.1;
/** Rollover above this many base quotas decays each cycle. */
export const decayThresholdQuotas = 2;

export type TierTerms = {
  baseQuota: number;
  rolloverCap: number;
  annualRolloverCap: number;
  regionMultipliers: Record<string, number>;
  unlimited: boolean;
};
export type MemberTerms = { tier: TierTerms; region: string | null; annual: boolean };

/**
 * floor(a × b) for a credit count and a decimal factor, immune to binary floating point:
 * 200 × 1.15 is 229.99999999999997 in doubles, and must give 230.
 */
export function floorProduct(credits: number, factor: number): number {
  return Math.floor(Math.round(credits * factor * 1e6) / 1e6);
}

/**
 * A member's base quota in credits: the tier's quota times the region's multiplier, floored. Only
 * the tier's own multipliers count: a region named like a property every object has
 * (`constructor`, `toString`) is a region without one, not a function to multiply by.
 */
export function baseQuotaOf(member: MemberTerms): number {
  if (member.tier.unlimited) return 0;
  const multipliers = member.tier.regionMultipliers;
  const multiplier = member.region !== null && Object.hasOwn(multipliers, member.region) ? multipliers[member.region]! : 1;
  return floorProduct(member.tier.baseQuota, multiplier);
}

/** The most credits a member may roll over: cap multiple × base quota, floored. */
export function rolloverCapOf(member: MemberTerms): number {
  const multiple = member.annual ? member.tier.annualRolloverCap : member.tier.rolloverCap;
  return floorProduct(baseQuotaOf(member), multiple);
}

/**
 * An account's terms: a user's own, or a team pool's as the sum over its members, held to
 * `creditQuotaPerAccountMax` a cycle and `creditBalanceMax` rolled over, so that no pool's
 * opening balance can outgrow the ledger's 32-bit amounts.
 */
export function accountTerms(members: readonly MemberTerms[]): { base: number; cap: number } {
  let base = 0;
  let cap = 0;
  for (const member of members) {
    base += baseQuotaOf(member);
    cap += rolloverCapOf(member);
  }
  return { base: Math.min(base, limits.creditQuotaPerAccountMax), cap: Math.min(cap, limits.creditBalanceMax) };
}

/**
 * What a member joining an account mid-cycle adds to it: their base quota, held so that the
 * cycle's refills together stay within `creditQuotaPerAccountMax`.
 */
export function joiningRefill(memberBase: number, refilledBase: number): number {
  return Math.max(0, Math.min(memberBase, limits.creditQuotaPerAccountMax - refilledBase));
}

export type CycleClose = {
  unused: number;
  carried: number;
  decay: number;
  rollover: number;
  refill: number;
  opening: number;
  /** The ledger entries, in order, each non-zero. */
  entries: Array<{ type: 'expire' | 'rollover' | 'decay' | 'refill'; amount: number }>;
};

export function closeCycle(unused: number, base: number, cap: number): CycleClose {
  if (!Number.isInteger(unused) || unused < 0) throw new Error(`unused credits must be a non-negative integer, got ${unused}`);
  const carried = Math.min(unused, cap);
  const decay = Math.floor(decayRate * Math.max(0, carried - decayThresholdQuotas * base));
  const rollover = carried - decay;
  const entries: CycleClose['entries'] = [];
  if (unused > 0) entries.push({ type: 'expire', amount: -unused });
  if (carried > 0) entries.push({ type: 'rollover', amount: carried });
  if (decay > 0) entries.push({ type: 'decay', amount: -decay });
  if (base > 0) entries.push({ type: 'refill', amount: base });
  return { unused, carried, decay, rollover, refill: base, opening: rollover + base, entries };
}

/** Credits a downgrade removes: the rollover above the new cap, never more than is available. */
export function downgradeClamp(rollover: number, available: number, newCap: number): number {
  return Math.max(0, Math.min(available, rollover - newCap));
}

/** A stable fingerprint of a request's parameters, for idempotency checks. */
export function fingerprint(kind: string, parameters: Record<string, string | number | boolean | null>): string {
  const ordered = Object.keys(parameters)
    .sort()
    .map((key) => [key, parameters[key]]);
  return createHash('sha256').update(JSON.stringify([kind, ordered])).digest('hex').slice(0, 32);
}
