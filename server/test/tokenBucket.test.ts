import t from 'tap';
import { TokenBucket, bucketRule } from '../src/gateway/tokenBucket.js';

t.test('allows a burst, then the average rate', async (t) => {
  const rule = bucketRule(10, 5);
  const bucket = new TokenBucket(rule, 0);
  const burst = Array.from({ length: 7 }, () => bucket.take(rule, 0));
  t.same(burst, [true, true, true, true, true, false, false]);
  t.equal(bucket.take(rule, 100), true, 'one token refills in 100 ms at 10/s');
  t.equal(bucket.take(rule, 100), false);
});

t.test('never holds more than the burst, however long it idles', async (t) => {
  const rule = bucketRule(10, 3);
  const bucket = new TokenBucket(rule, 0);
  const taken = Array.from({ length: 5 }, () => bucket.take(rule, 3_600_000)).filter(Boolean).length;
  t.equal(taken, 3);
});

t.test('a clock going backwards does not mint tokens', async (t) => {
  const rule = bucketRule(10, 1);
  const bucket = new TokenBucket(rule, 1000);
  t.equal(bucket.take(rule, 1000), true);
  t.equal(bucket.take(rule, 0), false);
});

t.test('parts of a token add up across takes: at 40 a second, 25 ms make one token however they are split', async (t) => {
  const rule = bucketRule(40, 1);
  const bucket = new TokenBucket(rule, 0);
  t.equal(bucket.take(rule, 0), true);
  t.equal(bucket.take(rule, 10), false, 'four tenths of a token');
  t.equal(bucket.take(rule, 24), false, 'ninety-six hundredths');
  t.equal(bucket.take(rule, 25), true, 'one whole token');
  t.equal(bucket.take(rule, 25), false);
});

t.test('a rule is whole tokens a second and a whole burst of at least one', async (t) => {
  t.throws(() => bucketRule(2.5, 5), RangeError);
  t.throws(() => bucketRule(10, 0), RangeError);
  t.throws(() => bucketRule(0, 5), /perSecond is a whole number of at least 1/);
});
