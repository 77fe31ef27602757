import fc from 'fast-check';
import t from 'tap';
import {
  defaultCoverageRules,
  depthDistribution,
  framesShort,
  libraryHealth,
  orientationScarcity,
  planFill,
  shortfallsOf,
  styleToAdd,
  type BucketStatus,
} from '../../src/pantry/coverage.js';

const rules = defaultCoverageRules;
const status = (genre: string, change: Partial<BucketStatus> = {}): BucketStatus => ({
  genre, mood: 'calm', orientation: 'landscape', total: 0, styles: 0, misses: 0, openFills: 0, unseenLow: null, ...change,
});

t.test('the guardrails need 60 unseen frames, 5 styles among them and more than 30% unseen', async (t) => {
  t.same(shortfallsOf({ total: 100, unseen: 60, styles: 5, exactUnseen: 60 }, rules), []);
  t.same(shortfallsOf({ total: 100, unseen: 59, styles: 5, exactUnseen: 59 }, rules), ['unseen']);
  t.same(shortfallsOf({ total: 100, unseen: 60, styles: 4, exactUnseen: 60 }, rules), ['styles']);
  t.same(shortfallsOf({ total: 200, unseen: 60, styles: 5, exactUnseen: 60 }, rules), ['share'], 'exactly 30% is not above 30%');
  t.same(shortfallsOf({ total: 0, unseen: 0, styles: 0, exactUnseen: 0 }, rules), ['unseen', 'styles', 'share']);
});

t.test('zero rules turn the guardrails off, even for a bucket the user has exhausted', async (t) => {
  t.same(shortfallsOf({ total: 3, unseen: 0, styles: 0, exactUnseen: 0 }, { minUnseen: 0, minStyles: 0, minUnseenShare: 0 }), []);
});

t.test('library health is 1 at twice every threshold and falls to 0 with nothing unseen', async (t) => {
  t.equal(libraryHealth({ total: 200, unseen: 120, styles: 10, exactUnseen: 120 }, rules), 1);
  t.equal(libraryHealth({ total: 200, unseen: 0, styles: 0, exactUnseen: 0 }, rules), 0);
  t.equal(libraryHealth({ total: 200, unseen: 60, styles: 10, exactUnseen: 60 }, rules), 0.5);
});

t.test('orientation scarcity is the share of unseen frames that would be adapted', async (t) => {
  t.equal(orientationScarcity({ total: 10, unseen: 10, styles: 5, exactUnseen: 10 }), 0);
  t.equal(orientationScarcity({ total: 10, unseen: 8, styles: 5, exactUnseen: 2 }), 0.75);
  t.equal(orientationScarcity({ total: 10, unseen: 0, styles: 0, exactUnseen: 0 }), 1);
});

t.test('a bucket is short of what a new user needs, or of what its shallowest active user needs', async (t) => {
  t.equal(framesShort(status('a', { total: 20, styles: 5 }), rules), 40);
  t.equal(framesShort(status('a', { total: 100, styles: 5, unseenLow: 10 }), rules), 50);
  t.equal(framesShort(status('a', { total: 100, styles: 2 }), rules), 3);
  t.equal(framesShort(status('a', { total: 100, styles: 5, unseenLow: 80 }), rules), 0);
});

t.test('the fill plan ranks by deficit weighted by misses and respects the per-bucket and per-run bounds', async (t) => {
  const plan = planFill(
    [status('quiet', { total: 10, styles: 5 }), status('missed', { total: 40, styles: 5, misses: 100 }), status('full', { total: 80, styles: 5 }), status('busy', { total: 0, openFills: 6 })],
    { rules, perRunMax: 8, openPerBucketMax: 6 },
  );
  t.same(plan.map((order) => [order.bucket.genre, order.count]), [['missed', 6], ['quiet', 2]]);
});

t.test('no plan ever exceeds its bounds or fills a bucket that lacks nothing (property)', async () => {
  const statusArbitrary = fc.record({
    total: fc.nat(200), styles: fc.nat(8), misses: fc.nat(1000), openFills: fc.nat(8), unseenLow: fc.option(fc.nat(200), { nil: null }),
  });
  fc.assert(
    fc.property(fc.array(statusArbitrary, { maxLength: 30 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 10 }), (raw, perRunMax, openPerBucketMax) => {
      const statuses = raw.map((entry, index) => status(`g${index}`, entry));
      const plan = planFill(statuses, { rules, perRunMax, openPerBucketMax });
      const total = plan.reduce((sum, order) => sum + order.count, 0);
      if (total > perRunMax) return false;
      return plan.every((order) => {
        const source = statuses.find((entry) => entry.genre === order.bucket.genre)!;
        return order.count > 0 && order.count <= framesShort(source, rules) && source.openFills + order.count <= openPerBucketMax;
      });
    }),
  );
});

t.test('fills add the style the bucket has least of', async (t) => {
  t.equal(styleToAdd(new Map([['grid', 3], ['waves', 1], ['rings', 2]]), ['grid', 'waves', 'rings', 'nebula']), 'nebula');
  t.equal(styleToAdd(new Map([['grid', 3], ['waves', 1]]), ['grid', 'waves']), 'waves');
});

t.test('the unseen-depth distribution uses nearest ranks', async (t) => {
  t.equal(depthDistribution([]), null);
  t.same(depthDistribution([5, 1, 3, 9, 7, 2, 8, 4, 6, 10]), { users: 10, min: 1, p10: 1, p50: 5, p90: 9, max: 10 });
});
