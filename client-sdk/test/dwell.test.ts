import t from 'tap';
import { protocolLimits } from '@titrate/shared';
import { beaconFor, dwellMs } from '../src/dwell.js';

t.test('dwell is the time from a frame shown to the next frame shown', async (t) => {
  t.equal(dwellMs(1_000, 13_500), 12_500);
  t.equal(dwellMs(1_000, 1_000.6), 1, 'rounded to whole milliseconds');
});

t.test('a clock stepping backwards gives a dwell of zero, never a negative one', async (t) => {
  t.equal(dwellMs(5_000, 4_000), 0);
  t.equal(dwellMs(5_000, Number.NaN), 0);
});

t.test('a frame left on screen for days is reported at the protocol ceiling', async (t) => {
  t.equal(dwellMs(0, 3 * 86_400_000), protocolLimits.dwellMsMax);
});

t.test('a beacon carries its id, the frame, the dwell, shownAt and only the marks that apply', async (t) => {
  const plain = beaconFor({ frame: 'decision-1', shownAtMs: 10_000, liked: false, skipped: false, offline: false }, 22_000, 'u1');
  t.same(plain, { t: 'beacon', id: 'u1', frame: 'decision-1', dwellMs: 12_000, shownAt: 10_000 });
  const marked = beaconFor({ frame: 'stock-1', shownAtMs: 10_000.7, liked: true, skipped: true, offline: true }, 11_000, 'u2');
  t.same(marked, { t: 'beacon', id: 'u2', frame: 'stock-1', dwellMs: 999, shownAt: 10_000, liked: true, skipped: true, offline: true });
});
