/**
 * Billing cycles in the user's own time zone: a cycle runs from local midnight on the 1st of a
 * month to local midnight on the 1st of the next. Pure functions of (instant, IANA zone).
 */

/** True when `zone` is an IANA time zone name this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function localParts(instantMs: number, zone: string): { year: number; month: number; offsetMs: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(new Date(instantMs));
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  const asUtc = Date.UTC(value('year'), value('month') - 1, value('day'), value('hour'), value('minute'), value('second'));
  return { year: value('year'), month: value('month'), offsetMs: asUtc - Math.floor(instantMs / 1000) * 1000 };
}

/** The instant of local midnight on the 1st of (year, month) in `zone`; month is 1-based, may overflow. */
function startOfLocalMonth(year: number, month: number, zone: string): number {
  const guess = Date.UTC(year, month - 1, 1);
  let instant = guess - localParts(guess, zone).offsetMs;
  // One correction handles a DST change between the guess and the result.
  instant = guess - localParts(instant, zone).offsetMs;
  return instant;
}

export function monthlyCycle(nowMs: number, zone: string): { startMs: number; endMs: number } {
  const { year, month } = localParts(nowMs, zone);
  return { startMs: startOfLocalMonth(year, month, zone), endMs: startOfLocalMonth(year, month + 1, zone) };
}
