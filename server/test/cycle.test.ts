import t from 'tap';
import { isTimeZone, monthlyCycle } from '../src/ledger/cycle.js';
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

t.test('the forecast spreads the available credits over the days left', async (t) => {
  const now = Date.parse('2026-11-21T00:00:00Z');
  const forecast = forecastFor(100, now, Date.parse('2026-12-01T00:00:00Z'), false);
  t.same(forecast, { freshPerDayLow: 8.5, freshPerDayHigh: 10, runOutRisk: 'low' });
  t.equal(forecastFor(0, now, now + 86_400_000, false).runOutRisk, 'high');
});
