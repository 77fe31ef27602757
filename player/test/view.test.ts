import t from 'tap';
import { badgeOf, cadenceMs, countdown, forecastText, mixText, orientationOf, playerLimits, tokenFrom } from '../src/view.js';

t.test('the frame cadence follows the BPM: a phrase of 16 beats, a bar of 4 in DJ mode, never under a second', async (t) => {
  t.equal(cadenceMs(120, false), 8000);
  t.equal(cadenceMs(120, true), 2000);
  t.equal(cadenceMs(200, true), 1200);
  t.equal(cadenceMs(1000, true), cadenceMs(playerLimits.bpmMax, true), 'BPM is clamped');
  t.equal(cadenceMs(Number.NaN, false), 8000, 'nonsense falls back to 120 BPM');
  t.ok(cadenceMs(60, true) >= playerLimits.frameIntervalMinMs);
});

t.test('the forecast reads as fresh frames a day to finish on pace, with the run-out risk', async (t) => {
  t.same(forecastText({ freshPerDayLow: 6.4, freshPerDayHigh: 8.2, runOutRisk: 'low' }, false), {
    line: 'Est. 6–9 fresh/day to finish the month on pace', risk: 'Run-out risk: low',
  });
  t.equal(forecastText({ freshPerDayLow: 3, freshPerDayHigh: 3, runOutRisk: 'high' }, false).line, 'Est. 3 fresh/day to finish the month on pace');
  t.match(forecastText({ freshPerDayLow: 0, freshPerDayHigh: 0, runOutRisk: 'low' }, true).line, /Unlimited/);
});

t.test('the badge names the source and explains the choice and its cost', async (t) => {
  const fresh = badgeOf({ source: 'fresh', fallback: 'exact', charged: 2, reasons: ['p 0.80 > 0.7: premium model'] });
  t.equal(fresh.label, 'Fresh');
  t.equal(fresh.tooltip, 'Fresh frame. 2 credits. P 0.80 > 0.7: premium model.');
  const congested = badgeOf({ source: 'library', fallback: 'congested', charged: 0, reasons: [] });
  t.equal(congested.label, 'Library');
  t.match(congested.tooltip, /^Library frame\. Free\. Generation is busy/);
  t.equal(badgeOf({ source: 'library', fallback: 'exact', charged: 0, reasons: [], offline: true }).label, 'Offline');
});

t.test('the mix chip, the countdown, the orientation and the token', async (t) => {
  t.equal(mixText({ fresh: 3, library: 8 }), 'Fresh: 3 | Library: 8 this session');
  t.equal(countdown(1_000_000 + 899_500, 1_000_000), '15:00');
  t.equal(countdown(1_000_000 + 61_000, 1_000_000), '1:01');
  t.equal(countdown(1_000_000, 1_000_000), null, 'over');
  t.equal(orientationOf(1920, 1080, false), 'landscape');
  t.equal(orientationOf(1080, 1920, false), 'portrait');
  t.equal(orientationOf(1000, 1040, false), 'square');
  t.equal(orientationOf(1920, 1080, true), 'portrait', 'the portrait toggle wins');
  t.equal(tokenFrom('?token=abc', 'demo'), 'abc', "the page URL's token first");
  t.equal(tokenFrom('', 'demo'), 'demo');
  t.equal(tokenFrom('?token=', null), null);
});
