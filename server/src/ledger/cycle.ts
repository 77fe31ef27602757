/**
 * Billing cycles in the account's own time zone, anchored on a day of the month: a cycle with
 * anchor day `a` starts at local midnight on day min(a, days in that month) and ends where the
 * next one starts. An account anchored on the 31st therefore renews on Feb 28 (29), Apr 30, …
 * and on the 31st again whenever the month has one. Pure functions of (instant, zone, anchor).
 */

export type Cycle = { startMs: number; endMs: number };

/** True when `zone` is an IANA time zone name this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Zones cached at most: the IANA database has ~600, and spellings differ only in case. */
const zonesCachedMax = 2048;
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    if (formatters.size >= zonesCachedMax) formatters.clear();
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The zone's UTC offset at an instant, from the runtime's time-zone database (slow: ~10 µs). */
function offsetAt(instantMs: number, zone: string): number {
  const parts = formatterFor(zone).formatToParts(new Date(instantMs));
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  const asUtc = Date.UTC(value('year'), value('month') - 1, value('day'), value('hour'), value('minute'), value('second'));
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * Offsets change only at transitions, and every transition of the current time-zone database
 * since 1970 falls on a quarter hour of UTC, so one offset holds for a whole quarter-hour window.
 * Each zone keeps the window it was last asked about: the decision path asks about "now" on
 * every frame and gets it without the time-zone database.
 */
const offsetWindowMs = 15 * 60_000;
const recentOffsets = new Map<string, { window: number; offsetMs: number }>();

/** Local calendar date of an instant, and the zone's UTC offset at that instant. */
export function localDate(instantMs: number, zone: string): { year: number; month: number; day: number; offsetMs: number } {
  const window = Math.floor(instantMs / offsetWindowMs);
  let recent = recentOffsets.get(zone);
  if (recent?.window !== window) {
    recent = { window, offsetMs: offsetAt(instantMs, zone) };
    if (recentOffsets.size >= zonesCachedMax) recentOffsets.clear();
    recentOffsets.set(zone, recent);
  }
  const local = new Date(Math.floor(instantMs / 1000) * 1000 + recent.offsetMs);
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(), offsetMs: recent.offsetMs };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * The first instant of the local day (year, month, day) in `zone`: local midnight, or — in zones
 * whose clocks skip midnight when daylight saving starts (America/Asuncion, America/Havana…) —
 * the moment the day begins after the gap. Month is 1-based and may overflow.
 */
export function localMidnight(year: number, month: number, day: number, zone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - localDate(guess, zone).offsetMs;
  // One correction handles an offset change between the guess and the result.
  const candidate = guess - localDate(first, zone).offsetMs;
  const target = Date.UTC(year, month - 1, day);
  const dayOf = (instantMs: number) => {
    const local = localDate(instantMs, zone);
    return Date.UTC(local.year, local.month - 1, local.day);
  };
  if (dayOf(candidate) === target) return candidate;
  // Midnight does not exist that day: search the gap (at most a few hours) to the second.
  let before = candidate;
  let after = candidate + 6 * 3_600_000;
  while (after - before > 1000) {
    const middle = before + Math.floor((after - before) / 2000) * 1000;
    if (dayOf(middle) < target) before = middle;
    else after = middle;
  }
  return after;
}

/** Where the cycle of (year, month) starts, for an anchor day 1..31. */
export function cycleStartIn(year: number, month: number, anchorDay: number, zone: string): number {
  const normalised = new Date(Date.UTC(year, month - 1, 1));
  const y = normalised.getUTCFullYear();
  const m = normalised.getUTCMonth() + 1;
  return localMidnight(y, m, Math.min(anchorDay, daysInMonth(y, m)), zone);
}

/** The cycle containing `instantMs`. */
export function cycleAt(instantMs: number, zone: string, anchorDay: number): Cycle {
  const { year, month } = localDate(instantMs, zone);
  const thisMonth = cycleStartIn(year, month, anchorDay, zone);
  if (instantMs >= thisMonth) return { startMs: thisMonth, endMs: cycleStartIn(year, month + 1, anchorDay, zone) };
  return { startMs: cycleStartIn(year, month - 1, anchorDay, zone), endMs: thisMonth };
}

/** The cycle that follows one ending at `endMs`. */
export function cycleAfter(endMs: number, zone: string, anchorDay: number): Cycle {
  return cycleAt(endMs, zone, anchorDay);
}

/** A calendar-month cycle (anchor day 1). */
export function monthlyCycle(nowMs: number, zone: string): Cycle {
  return cycleAt(nowMs, zone, 1);
}
