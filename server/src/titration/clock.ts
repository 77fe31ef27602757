/**
 * The cycle clock a decision sees, in the user's own time zone: how far through the credit cycle
 * we are and where today (the user's local calendar day) began. The controller takes these numbers,
 * not instants and zones, so that the simulator can drive it with a simulated clock.
 */
import { localDate } from '../ledger/cycle.js';

const dayMs = 86_400_000;

export type CycleClock = {
  /** Length of the cycle in days (28–31, fractional across a daylight-saving change). */
  lengthDays: number;
  /** Days since the cycle started, fractional. */
  elapsedDays: number;
  /** Fraction of the user's local day already gone, 0..1. */
  dayElapsed: number;
  /** The user's local calendar day, `YYYY-MM-DD`: the key of per-user-day counts. */
  dayKey: string;
};

/** The day `dayKeyOf` built last. */
let lastDay = { ordinal: -1, key: '' };

export function dayKeyOf(year: number, month: number, day: number): string {
  // Nearly every call asks for the day of the one before: the same string is handed out again
  // (no text built per decision, and every session holding today's key holds one copy of it).
  const ordinal = (year * 16 + month) * 32 + day;
  if (ordinal === lastDay.ordinal) return lastDay.key;
  const key = formatDayKey(year, month, day);
  lastDay = { ordinal, key };
  return key;
}

const formatDayKey = (year: number, month: number, day: number) => `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

/** The local calendar day of an instant in `zone`, and the fraction of it already gone. */
export function localDayOf(nowMs: number, zone: string): { dayKey: string; dayElapsed: number } {
  const local = localDate(nowMs, zone);
  const intoDayMs = (((nowMs + local.offsetMs) % dayMs) + dayMs) % dayMs;
  return { dayKey: dayKeyOf(local.year, local.month, local.day), dayElapsed: intoDayMs / dayMs };
}

/** The day keys of the `count` local days before `dayKey`, oldest first. */
export function previousDayKeys(dayKey: string, count: number): string[] {
  const [year, month, day] = dayKey.split('-').map(Number) as [number, number, number];
  const keys: string[] = [];
  for (let back = count; back >= 1; back -= 1) {
    const date = new Date(Date.UTC(year, month - 1, day - back));
    // Not through dayKeyOf: past days would push today out of its memory.
    keys.push(formatDayKey(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()));
  }
  return keys;
}

/** The cycle clock at `nowMs`, given the user's local day at that instant (from `localDayOf`). */
export function cycleClockOf(nowMs: number, cycleStartMs: number, cycleEndMs: number, local: { dayKey: string; dayElapsed: number }): CycleClock {
  const lengthDays = Math.max(1 / 24, (cycleEndMs - cycleStartMs) / dayMs);
  const elapsedDays = Math.min(lengthDays, Math.max(0, (nowMs - cycleStartMs) / dayMs));
  return { lengthDays, elapsedDays, dayKey: local.dayKey, dayElapsed: local.dayElapsed };
}
