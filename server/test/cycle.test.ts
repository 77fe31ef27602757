import t from 'tap';
import { isTimeZone, localDate, monthlyCycle } from '../src/ledger/cycle.js';
import { forecastFor } from '../src/credits/view.js';

const iso = (ms: number) => new Date(ms).toISOString();

t.test('a UTC cycle runs from the 1st to the 1st', async (t) => {
  const cycle = monthlyCycle(Date.parse('2026-11-21T16:00:00Z'), 'UTC');
  t.same([iso(cycle.startMs), iso(cycle.endMs)], ['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
});

t.test('a cycle starts at local midnight in the user time zone', async (t) => {
  const tokyo = monthlyCycle(Date.parse('2026-11-30T20:00:00Z'), 'Asia/Tokyo');
  t.same([iso(tokyo.startMs), iso(tokyo.endMs)], ['2026-11-30T15:00:00.000Z', '2026-12-31T15:00:00.000Z'], 'already December in Tokyo');
  const newYork = monthlyCycle(Date.parse('2026-03-15T12:00:00Z'), 'America/New_York');
  t.same([iso(newYork.startMs), iso(newYork.endMs)], ['2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z'], 'across the DST change');
});

t.test('December rolls over into the next year', async (t) => {
  const cycle = monthlyCycle(Date.parse('2026-12-31T23:59:59Z'), 'UTC');
  t.equal(iso(cycle.endMs), '2027-01-01T00:00:00.000Z');
});

t.test('time zones are checked against the runtime database', async (t) => {
  t.ok(isTimeZone('Europe/Berlin'));
  t.ok(isTimeZone('UTC'));
  t.notOk(isTimeZone('Mars/Olympus_Mons'));
});

t.test('the forecast spreads the available credits over the days left at the cost of a fresh frame', async (t) => {
  const now = Date.parse('2026-11-21T00:00:00Z');
  const credits = { available: 100, used: 0, cycleStartMs: now - 20 * 86_400_000, cycleEndMs: Date.parse('2026-12-01T00:00:00Z'), unlimited: false };
  t.same(forecastFor(credits, now, { creditsPerFresh: 1, creditsPerDay: 5 }), { freshPerDayLow: 8.5, freshPerDayHigh: 11.5, runOutRisk: 'low' });
  t.equal(forecastFor(credits, now, { creditsPerFresh: 2, creditsPerDay: 5 }).freshPerDayHigh, 5.8, 'premium frames halve the pace');
  t.equal(forecastFor(credits, now, { creditsPerFresh: 1, creditsPerDay: 13 }).runOutRisk, 'medium', 'a habit 30% above the pace');
  t.equal(forecastFor(credits, now, { creditsPerFresh: 1, creditsPerDay: 20 }).runOutRisk, 'high', 'a habit twice the pace');
  t.equal(forecastFor({ ...credits, available: 0 }, now).runOutRisk, 'high', 'nothing left');
  t.same(forecastFor({ ...credits, unlimited: true }, now), { freshPerDayLow: 0, freshPerDayHigh: 0, runOutRisk: 'low' });
});

t.test('the local date of an instant is the time-zone database answer, also right at a DST change', async (t) => {
  const fc = await import('fast-check');
  const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Asuncion', 'Asia/Kathmandu', 'Pacific/Chatham'];
  const reference = (instantMs: number, zone: string) => {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(new Date(instantMs));
    const value = (type: string) => Number(parts.find((part) => part.type === type)!.value);
    return { year: value('year'), month: value('month'), day: value('day') };
  };
  // Instants near transitions of 2026 (Berlin, New York, Lord Howe's half hour, Asuncion's midnight).
  const transitions = ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z', '2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z', '2026-03-22T03:00:00Z', '2026-10-04T04:00:00Z'].map(Date.parse);
  const instant = fc.oneof(
    fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }),
    fc.tuple(fc.constantFrom(...transitions), fc.integer({ min: -7_200_000, max: 7_200_000 })).map(([at, delta]) => at + delta),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(instant, fc.constantFrom(...zones)), { minLength: 1, maxLength: 20 }), (asks) => {
      for (const [instantMs, zone] of asks) {
        const local = localDate(instantMs, zone);
        const expected = reference(instantMs, zone);
        if (local.year !== expected.year || local.month !== expected.month || local.day !== expected.day) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
  t.pass('every instant agrees');
});
