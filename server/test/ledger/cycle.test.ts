import t from 'tap';
import { cycleAfter, cycleAt, daysInMonth } from '../../src/ledger/cycle.js';

const iso = (ms: number) => new Date(ms).toISOString();
const cycle = (instant: string, zone: string, anchor: number) => {
  const { startMs, endMs } = cycleAt(Date.parse(instant), zone, anchor);
  return [iso(startMs), iso(endMs)];
};

t.test('an anchor on the 31st renews on the last day of shorter months', async (t) => {
  t.same(cycle('2027-02-15T12:00:00Z', 'UTC', 31), ['2027-01-31T00:00:00.000Z', '2027-02-28T00:00:00.000Z']);
  t.same(cycle('2027-03-10T12:00:00Z', 'UTC', 31), ['2027-02-28T00:00:00.000Z', '2027-03-31T00:00:00.000Z']);
  t.same(cycle('2028-02-29T12:00:00Z', 'UTC', 30), ['2028-02-29T00:00:00.000Z', '2028-03-30T00:00:00.000Z'], 'leap year');
  t.same(cycle('2027-04-30T00:00:00Z', 'UTC', 31), ['2027-04-30T00:00:00.000Z', '2027-05-31T00:00:00.000Z'], 'starts exactly at the boundary');
});

t.test('consecutive cycles tile time without gaps', async (t) => {
  let current = cycleAt(Date.parse('2026-01-15T00:00:00Z'), 'America/New_York', 31);
  for (let index = 0; index < 30; index += 1) {
    const next = cycleAfter(current.endMs, 'America/New_York', 31);
    t.equal(next.startMs, current.endMs);
    t.ok(next.endMs > next.startMs);
    current = next;
  }
});

t.test('time zones across the date line start cycles at their own midnight', async (t) => {
  const instant = '2026-11-30T20:00:00Z';
  t.same(cycle(instant, 'Pacific/Kiritimati', 1), ['2026-11-30T10:00:00.000Z', '2026-12-31T10:00:00.000Z'], 'UTC+14: already December 1');
  t.same(cycle(instant, 'Pacific/Pago_Pago', 1), ['2026-11-01T11:00:00.000Z', '2026-12-01T11:00:00.000Z'], 'UTC-11: still November 30');
});

t.test('cycles follow daylight saving changes', async (t) => {
  t.same(cycle('2026-03-20T12:00:00Z', 'America/New_York', 8), ['2026-03-08T05:00:00.000Z', '2026-04-08T04:00:00.000Z'], 'DST starts March 8');
  t.same(cycle('2026-10-30T12:00:00Z', 'Europe/Berlin', 25), ['2026-10-24T22:00:00.000Z', '2026-11-24T23:00:00.000Z'], 'DST ends October 25');
});

t.test('days in month', async (t) => {
  t.same([daysInMonth(2026, 2), daysInMonth(2028, 2), daysInMonth(2026, 4), daysInMonth(2026, 12)], [28, 29, 30, 31]);
});

t.test('in zones whose clocks skip midnight, a cycle starts when the day begins, and cycles still advance', async (t) => {
  // America/Asuncion moved clocks from 00:00 -04 to 01:00 -03 on 2023-10-01.
  const september = cycleAt(Date.parse('2023-09-15T12:00:00Z'), 'America/Asuncion', 1);
  t.equal(iso(september.endMs), '2023-10-01T04:00:00.000Z');
  const october = cycleAfter(september.endMs, 'America/Asuncion', 1);
  t.equal(october.startMs, september.endMs);
  t.ok(october.endMs > october.startMs + 27 * 86_400_000, 'the next cycle is a month, not the same one again');
});
