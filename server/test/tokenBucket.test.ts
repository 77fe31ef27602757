import t from 'tap';
import { TokenBucket, bucketRule } from '../src/gateway/tokenBucket.js';

t.test('allows a burst, then the average rate', async (t) => {
  const rule = bucketRule(10, 5);
  const bucket = new TokenBucket(0);
  const burst = Array.from({ length: 7 }, () => bucket.take(rule, 0));
  t.same(burst, [true, true, true, true, true, false, false]);
  t.equal(bucket.take(rule, 100), true, 'one token refills in 100 ms at 10/s');
  t.equal(bucket.take(rule, 100), false);
});

t.test('never holds more than the burst, however long it idles', async (t) => {
  const rule = bucketRule(10, 3);
  const bucket = new TokenBucket(0);
  const taken = Array.from({ length: 5 }, () => bucket.take(rule, 3_600_000)).filter(Boolean).length;
  t.equal(taken, 3);
});

t.test('a clock going backwards does not mint tokens', async (t) => {
  const rule = bucketRule(10, 1);
  const bucket = new TokenBucket(1000);
  t.equal(bucket.take(rule, 1000), true);
  t.equal(bucket.take(rule, 0), false);
});

t.test('a clock stepping back an hour holds a connection back by one interval at most, as if its bucket were empty', async (t) => {
  const rule = bucketRule(10, 5);
  const bucket = new TokenBucket(3_600_000);
  for (let index = 0; index < 5; index += 1) bucket.take(rule, 3_600_000);
  t.equal(bucket.take(rule, 0), false, 'empty when the clock steps back');
  t.equal(bucket.take(rule, 100), true, 'one interval later on the new clock, a token');
  const rested = new TokenBucket(3_600_000);
  t.equal(bucket.take(rule, 100), false);
  t.equal(rested.take(rule, 0), false, 'a full bucket stepped back is refused once too');
  t.equal(rested.take(rule, 100), true);
});

t.test('parts of a token add up across takes: at 40 a second, 25 ms make one token however they are split', async (t) => {
  const rule = bucketRule(40, 1);
  const bucket = new TokenBucket(0);
  t.equal(bucket.take(rule, 0), true);
  t.equal(bucket.take(rule, 10), false, 'four tenths of a token');
  t.equal(bucket.take(rule, 24), false, 'ninety-six hundredths');
  t.equal(bucket.take(rule, 25), true, 'one whole token');
  t.equal(bucket.take(rule, 25), false);
});

t.test('a rule is whole tokens a second, a whole number of milliseconds apart, and a whole burst of at least one', async (t) => {
  t.throws(() => bucketRule(2.5, 5), RangeError);
  t.throws(() => bucketRule(10, 0), RangeError);
  t.throws(() => bucketRule(0, 5), /perSecond is a whole number of at least 1/);
  t.throws(() => bucketRule(30, 5), /a whole number of milliseconds apart/);
  t.match(bucketRule(40, 60), { intervalMs: 25, toleranceMs: 59 * 25 });
});

t.test('a long steady stream at the rate is never refused, and one faster is held to the rate after its burst', async (t) => {
  const rule = bucketRule(40, 60);
  const steady = new TokenBucket(0);
  t.ok(Array.from({ length: 4000 }, (_, index) => steady.take(rule, index * 25)).every(Boolean), 'one message every 25 ms for 100 s');
  const fast = new TokenBucket(0);
  const taken = Array.from({ length: 1000 }, (_, index) => fast.take(rule, index * 10)).filter(Boolean).length;
  t.equal(taken, 60 + Math.floor(9990 / 25), 'a message every 10 ms for 10 s: the burst, then 40 a second');
});
