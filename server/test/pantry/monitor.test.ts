import t from 'tap';
import { limits } from '../../src/limits.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Bucket, CoverageCheck, Shortfall } from '../../src/pantry/coverage.js';
import { CoverageMonitor } from '../../src/pantry/monitor.js';

const house: Bucket = { genre: 'house', mood: 'euphoric', orientation: 'landscape' };
const housePortrait: Bucket = { ...house, orientation: 'portrait' };
const ambient: Bucket = { genre: 'ambient', mood: 'calm', orientation: 'landscape' };
const key = (bucket: Bucket) => `${bucket.genre}|${bucket.mood}|${bucket.orientation}`;

function check(userId: string, bucket: Bucket, unseen: number, shortfalls: Shortfall[] = []): CoverageCheck {
  // A new bucket object per check, as the decision path makes one per decision.
  return { userId, bucket: { ...bucket }, coverage: { total: 100, unseen, styles: 5, exactUnseen: unseen }, shortfalls };
}

function monitorAt(clock: { ms: number }, activePairsMax?: number) {
  return new CoverageMonitor({ metrics: createMetrics(), now: () => clock.ms, ...(activePairsMax === undefined ? {} : { activePairsMax }) });
}

t.test("a user's depth in a bucket is the one their latest decision there saw, per bucket and orientation", async (t) => {
  const clock = { ms: 1_000_000 };
  const monitor = monitorAt(clock);
  monitor.observe(check('ann', house, 40));
  monitor.observe(check('ann', house, 38));
  monitor.observe(check('ann', housePortrait, 12));
  monitor.observe(check('bob', house, 90));
  monitor.observe(check('ann', house, 37));
  const depths = monitor.activeDepths();
  t.same(depths.get(key(house))?.sort((a, b) => a - b), [37, 90]);
  t.same(depths.get(key(housePortrait)), [12]);
  t.equal(depths.size, 2);
});

t.test('a pair not updated within the active window is left out of the depths and forgotten', async (t) => {
  const clock = { ms: 1_000_000 };
  const monitor = monitorAt(clock);
  monitor.observe(check('ann', house, 40));
  monitor.observe(check('ann', ambient, 20));
  clock.ms += limits.coverageActiveWindowMs / 2;
  monitor.observe(check('ann', ambient, 19));
  monitor.observe(check('bob', house, 70));
  clock.ms += limits.coverageActiveWindowMs / 2 + 1;
  t.same(Object.fromEntries(monitor.activeDepths()), { [key(ambient)]: [19], [key(house)]: [70] }, "ann's house depth is older than the window");
  clock.ms += limits.coverageActiveWindowMs;
  t.same(monitor.activeDepths().size, 0, 'and later nobody is active');
  monitor.observe(check('ann', house, 5));
  t.same(Object.fromEntries(monitor.activeDepths()), { [key(house)]: [5] }, 'a user comes back as new');
});

t.test('pairs forgotten for being inactive no longer count against the bound', async (t) => {
  const clock = { ms: 1_000_000 };
  const monitor = monitorAt(clock, 2);
  monitor.observe(check('ann', house, 1));
  monitor.observe(check('bob', house, 2));
  clock.ms += limits.coverageActiveWindowMs + 1;
  t.equal(monitor.activeDepths().size, 0);
  monitor.observe(check('cyd', house, 3));
  monitor.observe(check('dee', ambient, 4));
  t.same(Object.fromEntries(monitor.activeDepths()), { [key(house)]: [3], [key(ambient)]: [4] }, 'two new users fit in the bound of two');
});

t.test('beyond its bound of pairs the monitor forgets the users updated longest ago first', async (t) => {
  const clock = { ms: 1_000_000 };
  const monitor = monitorAt(clock, 3);
  monitor.observe(check('ann', house, 1));
  monitor.observe(check('ann', ambient, 2));
  monitor.observe(check('bob', house, 3));
  monitor.observe(check('ann', house, 4));
  // Four pairs: bob was updated longest ago.
  monitor.observe(check('cyd', ambient, 5));
  t.same(Object.fromEntries(monitor.activeDepths()), { [key(house)]: [4], [key(ambient)]: [2, 5] });
  monitor.observe(check('dee', housePortrait, 6));
  t.same(Object.fromEntries(monitor.activeDepths()), { [key(ambient)]: [5], [key(housePortrait)]: [6] }, 'both of ann\'s pairs went with her');
});

t.test('a miss is counted per bucket until taken, put back on a failed write, and handed to the filler', async (t) => {
  const monitor = monitorAt({ ms: 1_000_000 });
  const filled: Bucket[] = [];
  monitor.onMiss((bucket) => filled.push(bucket));
  monitor.observe(check('ann', house, 3, ['unseen']));
  monitor.observe(check('bob', house, 2, ['unseen', 'styles']));
  monitor.observe(check('bob', ambient, 80));
  t.same(filled, [house, house], 'each miss asks for a fill; a met check does not');
  const taken = monitor.takeMisses();
  t.same(taken, [{ bucket: house, misses: 2 }]);
  t.same(monitor.takeMisses(), [], 'taken once');
  monitor.returnMisses(taken);
  monitor.observe(check('ann', house, 1, ['unseen']));
  t.same(monitor.takeMisses(), [{ bucket: house, misses: 3 }], 'returned misses add to new ones');
});
